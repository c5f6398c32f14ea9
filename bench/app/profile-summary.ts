// Where a server process's CPU time went, from a V8 .cpuprofile (`BENCH_APP_CPU_PROF=<dir> npm run
// bench -- app` writes one per server and scenario, and prints the command to read it): self time by
// owner (a redkit lib, the app, a package under node_modules, Node's internals, a syscall such as
// writev, GC), then the functions with the most self time and with the most total time (self +
// callees), each with its file and line; in µs per response when the response count is given.
//
//   node --import ./bench/lib/register.mjs bench/app/profile-summary.ts <file.cpuprofile> [responses] [top]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Who owns a frame: libs/<lib>, apps/<app>, a package, node:internal, or a V8 pseudo-frame. */
function ownerOf(url: string, functionName: string): string {
  if (url === '') return `(${functionName || 'native'})`.replace(/^\(\((.*)\)\)$/, '($1)');
  const lib = /\/libs\/([^/]+)\//.exec(url);
  if (lib) return `@redkit/${lib[1]}`;
  const app = /\/apps\/([^/]+)\//.exec(url);
  if (app) return `app ${app[1]}`;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/bench/')) return 'bench';
  return url;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\/.*?\/(node_modules|libs|apps|bench)\//, '$1/');
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

const [file, responsesArg, topArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: profile-summary.ts <file.cpuprofile> [responses] [top]');
  process.exit(2);
}
const responses = Number(responsesArg ?? 0);
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

const selfByNode = new Map<number, number>();
for (let index = 0; index < profile.samples.length; index += 1) {
  const id = profile.samples[index]!;
  selfByNode.set(id, (selfByNode.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
}
const total = [...selfByNode.values()].reduce((sum, value) => sum + value, 0);
const idle = [...selfByNode].reduce(
  (sum, [id, time]) => (byId.get(id)!.callFrame.functionName === '(idle)' ? sum + time : sum),
  0,
);
const busy = total - idle;

const selfByOwner = new Map<string, number>();
const selfByFunction = new Map<string, number>();
const totalByFunction = new Map<string, number>();
for (const [id, time] of selfByNode) {
  const node = byId.get(id)!;
  if (node.callFrame.functionName === '(idle)') continue;
  const owner = ownerOf(node.callFrame.url, node.callFrame.functionName);
  selfByOwner.set(owner, (selfByOwner.get(owner) ?? 0) + time);
  selfByFunction.set(label(node), (selfByFunction.get(label(node)) ?? 0) + time);
  // Total time: once per distinct function on the stack (recursion counted once).
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const name = label(byId.get(at)!);
    if (seen.has(name)) continue;
    seen.add(name);
    totalByFunction.set(name, (totalByFunction.get(name) ?? 0) + time);
  }
}

// Profile times are in µs.
const percent = (time: number) =>
  `${((time / busy) * 100).toFixed(1).padStart(5)} %` +
  (responses > 0 ? `  ${(time / responses).toFixed(1).padStart(6)} µs/resp` : '');
const print = (title: string, entries: Map<string, number>, count: number) => {
  console.log(`\n${title}`);
  for (const [name, time] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    console.log(`${percent(time)}  ${name}`);
  }
};
console.log(
  `${file}: ${(total / 1e6).toFixed(2)} s profiled, ${(busy / 1e6).toFixed(2)} s busy ` +
    `(percentages below are of busy time)` +
    (responses > 0 ? `; ${responses} responses, ${(busy / responses).toFixed(1)} µs busy per response` : ''),
);
print('self time by owner', selfByOwner, 30);
print(`self time, top ${top} functions`, selfByFunction, top);
print(`total time (self + callees), top ${top} functions`, totalByFunction, top);
