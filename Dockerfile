# syntax=docker/dockerfile:1
# Build stage: full install, compile TypeScript.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies and the compiled output only.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
# glibc keeps freed heap memory (up to 128 MiB) instead of handing it back to the kernel, and
# serves allocations up to 1 MiB from the heap: Node's 64 KiB socket read buffers are then
# reused, not page-faulted in afresh after every trim. Measured: see docs/performance.md.
# The benchmark and .ci/docker-steps read this line.
ENV GLIBC_TUNABLES=glibc.malloc.trim_threshold=134217728:glibc.malloc.mmap_threshold=1048576
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
# `patgate` on the PATH, for `docker exec CONTAINER patgate token ...`.
RUN chmod 755 dist/src/main.js && ln -s /app/dist/src/main.js /usr/local/bin/patgate
# `patgate serve` (and `routes check`) read this file unless --config names another: mount yours here.
ENV PATGATE_CONFIG=/app/config/patgate.yaml
USER node
EXPOSE 8080 8081
# /healthz lives on the admin listener (8081 by default).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8081/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Two V8 settings for one event loop per core, the deployment this image is built for (several
# instances behind a load balancer). Measured: see docs/performance.md.
# --single-threaded-gc: the garbage collector marks and sweeps on the main thread, in small
#   incremental steps. Its helper threads would otherwise compete with the event loop for the
#   instance's core, and a major GC then stalls every request in flight.
# --no-memory-reducer: an idle process keeps its heap. Shrunk, the next burst of load pays for
#   regrowing it: a minimal young generation, early promotion, mark-compacts in the first seconds.
# The benchmark and .ci/docker-steps read this line.
ENTRYPOINT ["node", "--single-threaded-gc", "--no-memory-reducer", "dist/src/main.js"]
CMD ["serve"]
