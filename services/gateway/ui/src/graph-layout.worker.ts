import { type LayoutRequest, layoutAnswer } from './layout-runner';

// The graph page's layout worker: one dagre layout per message.
self.onmessage = (e: MessageEvent<LayoutRequest>) => {
  self.postMessage(layoutAnswer(e.data));
};
