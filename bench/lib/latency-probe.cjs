// Preloaded (`node --require`) into a proxy by bench/latency.mjs: what the process itself sees of
// its latency, to set beside what the load generator sees. On each SIGUSR2 it appends one JSON
// line to $LATENCY_PROBE_OUT with the figures since the previous signal, then starts afresh:
//   request: time from Node's 'request' event to the response's 'finish', per request;
//   turnaround: time from one response's 'finish' to the next request on the same connection
//     (the client's turn, and any wait before this process read the request);
//   loop: event-loop delay (a 1 ms timer's lateness: how long the loop was busy elsewhere);
//   gc: pauses by kind, with the longest.
// Diagnosis only: it adds a listener per request, so its throughput is not the proxy's own.
'use strict';
const { appendFileSync } = require('node:fs');
const http = require('node:http');
const {
  createHistogram,
  monitorEventLoopDelay,
  PerformanceObserver,
  performance,
} = require('node:perf_hooks');
const { constants } = require('node:perf_hooks');

const OUT = process.env.LATENCY_PROBE_OUT;
if (!OUT) throw new Error('latency-probe: set LATENCY_PROBE_OUT');

const GC_KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
};

const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const request = createHistogram();
const turnaround = createHistogram();
const lastFinish = new WeakMap();
let gc = {};

new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = GC_KINDS[entry.detail?.kind] ?? 'other';
    if (gc[kind] === undefined) gc[kind] = { count: 0, totalMs: 0, maxMs: 0 };
    const k = gc[kind];
    k.count++;
    k.totalMs += entry.duration;
    k.maxMs = Math.max(k.maxMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

const micros = (ms) => Math.max(1, Math.round(ms * 1000));
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function probedEmit(event, req, res, ...rest) {
  if (event === 'request' || event === 'checkContinue') {
    const began = performance.now();
    const socket = req.socket;
    const previous = lastFinish.get(socket);
    if (previous !== undefined) turnaround.record(micros(began - previous));
    res.once('finish', () => {
      const ended = performance.now();
      lastFinish.set(socket, ended);
      request.record(micros(ended - began));
    });
  }
  return emit.call(this, event, req, res, ...rest);
};

const ms = (h, p) => (h.count === 0 ? 0 : h.percentile(p) / 1000);
const summary = (h) => ({
  count: h.count,
  p50: ms(h, 50),
  p99: ms(h, 99),
  p999: ms(h, 99.9),
  max: h.count === 0 ? 0 : h.max / 1000,
});

process.on('SIGUSR2', () => {
  const line = {
    request: summary(request),
    turnaround: summary(turnaround),
    loop: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    gc,
  };
  appendFileSync(OUT, `${JSON.stringify(line)}\n`);
  request.reset();
  turnaround.reset();
  loop.reset();
  gc = {};
});
