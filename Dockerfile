# hopwatch's image: the proxy, the load generator and the CLI, on Node 20, as a non-root user.
# Not built in this repository's CI (no base images offline); kept minimal and standard.
#   docker build -t hopwatch .                           (with the embedded store: chDB, ~500 MB more)
#   docker build --build-arg EMBEDDED=false -t hopwatch:server .   (a ClickHouse server store only, as in Kubernetes)
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY test ./test
COPY scripts ./scripts
RUN npx tsc -p tsconfig.json && node scripts/report-assets.mjs

FROM node:20-bookworm-slim
ARG EMBEDDED=true
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# production dependencies only; chdb (the embedded store) left out of the server-store image
# (--ignore-scripts: the package's own prepare step is the build stage's; chdb's install script is run on its own)
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && if [ "$EMBEDDED" = "true" ]; then npm rebuild chdb; else rm -rf node_modules/chdb node_modules/@chdb; fi \
 && npm cache clean --force
COPY bin ./bin
COPY --from=build /src/dist/src ./dist/src
RUN ln -s /app/bin/hopwatch.js /usr/local/bin/hopwatch && useradd --uid 10001 --create-home hopwatch
USER 10001
EXPOSE 8787
ENTRYPOINT ["hopwatch"]
CMD ["--help"]
