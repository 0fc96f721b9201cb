// The projector's web worker: UMAP off the page's thread (the page keeps panning and zooming while it runs; a new
// projection terminates the worker and starts another). In: {data, count, dims}; out: {type: 'embedding', xy,
// epoch, epochs}, then {type: 'done'} or {type: 'error', message}.

import { runUmap, UmapInput } from './umapRun';

const worker = self as unknown as Worker;

worker.onmessage = (event: MessageEvent) => {
  try {
    runUmap(event.data as UmapInput, (xy, epoch, epochs) => worker.postMessage({ type: 'embedding', xy, epoch, epochs }, [xy.buffer]));
    worker.postMessage({ type: 'done' });
  } catch (e) {
    worker.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
};
