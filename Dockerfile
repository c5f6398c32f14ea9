# The sample order-book API (apps/orderbook-api) in a container.
#   docker build -t redkit-orderbook-api .
#   docker run -p 3000:3000 -e REDIS_URL=redis://host.docker.internal:6379 redkit-orderbook-api
# or `cp .env.example .env && docker compose up --build`, which starts Redis beside it, with ACL
# users and passwords (docker-compose.yml).

# Only the package manifests, so `npm ci` below stays cached until a dependency changes.
FROM node:24-slim AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && cp package.json package-lock.json /manifests/ \
 && find libs apps -mindepth 2 -maxdepth 2 -name package.json -exec cp --parents {} /manifests/ \;

FROM node:24-slim AS build
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --no-audit --no-fund
COPY . .
# swc emits libs/*/dist and apps/*/dist (tsc the libs' declarations); dev dependencies go after.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-slim
# HOST: the API listens on 127.0.0.1 by default, which a published port cannot reach.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    REDIS_URL=redis://redis:6379
WORKDIR /app
COPY --from=build /app/package.json ./
# node_modules/@redkit/* are workspace symlinks into libs/, which COPY keeps as symlinks.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/libs ./libs
COPY --from=build /app/apps/orderbook-api/dist ./apps/orderbook-api/dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "apps/orderbook-api/dist/main.js"]
