# syntax=docker/dockerfile:1
# logship container image.
#   docker build -t logship:0.1.0 .
#   docker run -d --name logship -v logship-state:/var/lib/logship \
#     -v /var/log:/var/log:ro -e LOKI_URL=http://loki:3100 -p 127.0.0.1:9711:9711 logship:0.1.0
# Three stages: `build` compiles and bundles with the dev dependencies, `deps` installs the
# production dependencies only (from the lockfile), and the final stage gets just those two results.
# The entrypoint is the esbuild bundle (dist/bundle/cli.js, scripts/bundle.ts): one start-up reads
# ~20 files instead of ~390 modules; node_modules is there for snappy's native addon.

# Pinned to an exact Node 24 LTS release; bump deliberately (and rebuild for Debian security fixes).
FROM node:24.21.0-bookworm-slim AS base
WORKDIR /opt/logship

FROM base AS build
COPY package.json package-lock.json ./
# --ignore-scripts: no install script of any dependency runs; the compiler and the bundler need
# none (esbuild's binary comes in its platform package; the `node` devDependency's download is for
# npm scripts on older hosts, not for this image).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY parsers ./parsers
COPY scripts ./scripts
# The build parses the embedded default config once (dist/bundle/default-config.json).
COPY config ./config
RUN node node_modules/typescript/bin/tsc -p tsconfig.json && node scripts/bundle.ts

FROM base AS deps
COPY package.json package-lock.json ./
# Production dependencies only; snappy's native binding comes prebuilt as an optional package.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM base AS runtime
ENV NODE_ENV=production \
    LOGSHIP_LISTEN=0.0.0.0:9711 \
    LOGSHIP_DATA_DIR=/var/lib/logship
# Code and dependencies stay root-owned: the service user can read, not modify them.
COPY package.json ./
COPY config ./config
COPY --from=deps /opt/logship/node_modules ./node_modules
COPY --from=build /opt/logship/dist/bundle ./dist/bundle
COPY --from=build /opt/logship/dist/src ./dist/src
COPY --from=build /opt/logship/dist/parsers ./dist/parsers
# The state directory (positions, dead letters) is created owned by the service user before it
# becomes a volume, so a fresh named volume inherits that ownership.
RUN chmod 0755 dist/bundle/cli.js \
 && ln -s /opt/logship/dist/bundle/cli.js /usr/local/bin/logship \
 && mkdir -p /var/lib/logship /etc/logship \
 && chown 1000:1000 /var/lib/logship \
 && chmod 0750 /var/lib/logship
# The image's `node` user, numerically so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
WORKDIR /var/lib/logship
VOLUME ["/var/lib/logship"]
EXPOSE 9711
# Slim has no curl or wget: probe with Node's fetch, on the port LOGSHIP_LISTEN names.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "const l=process.env.LOGSHIP_LISTEN||'';fetch('http://127.0.0.1:'+(l.slice(l.lastIndexOf(':')+1)||9711)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node as PID 1 is fine: logship handles SIGTERM (drain, save positions) and spawns no children.
STOPSIGNAL SIGTERM
# The same V8 flags and malloc arenas as the CLI's shebang (see src/cli.ts): lower RSS.
ENV MALLOC_ARENA_MAX=1
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=25", "--no-maglev", "--no-opt", "--no-sparkplug", "/opt/logship/dist/bundle/cli.js"]
# The embedded default config (LOKI_URL / ELASTICSEARCH_URL choose the sink); mount your own and
# run `run --config /etc/logship/logship.yaml` instead.
CMD ["run"]
