/** The lab's Web Worker: replays off the page's thread, so a long trace never freezes it. */
import { computeLab, type LabAnswer, type LabRequest } from './lab-model.js';

/** The part of a dedicated worker's global scope used here (the DOM lib types `self` as a window). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<LabRequest>) => void) | null;
  postMessage(answer: LabAnswer): void;
}

const scope = self as unknown as WorkerScope;
scope.onmessage = (event) => scope.postMessage(computeLab(event.data));
