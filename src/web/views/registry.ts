/**
 * The page's views: the machine view (frame map, charts, address space, heap, slabs) and any
 * other view a subsystem adds (a page-replacement lab, a CPU/TLB panel) as a tab of its own.
 * A view mounts its DOM once and draws the moment shown each time the page renders, so it
 * follows the run, the timeline and the end like every other panel.
 *
 * To add a view: a file under src/web/views/ that calls {@link registerView}, imported from
 * src/web/views/index.ts.
 */
import type { Moment } from '../model/moment.js';
import type { Simulation } from '../model/simulation.js';

/** What a view may read when it renders. */
export interface ViewContext {
  /** The live run (its machine is at the latest moment). */
  readonly sim: Simulation;
  /** The moment shown: the latest, or one the timeline went back to. */
  readonly moment: Moment;
  /** True when the moment shown is the latest. */
  readonly live: boolean;
}

/** A tab of the page. */
export interface PageView {
  /** Short id, used in the DOM (`view-ID`) and by tests. */
  readonly id: string;
  readonly title: string;
  /** Builds the view's content inside `root`, once per page load. */
  mount(root: HTMLElement): void;
  /** Draws `context.moment`; called after every step, scrub, pause and end. */
  render(context: ViewContext): void;
}

const views: PageView[] = [];

/** Adds a view as a tab after the views registered before it. */
export function registerView(view: PageView): void {
  if (views.some((v) => v.id === view.id)) throw new Error(`view ${view.id} registered twice`);
  views.push(view);
}

/** The views registered so far, in order. */
export function registeredViews(): readonly PageView[] {
  return views;
}
