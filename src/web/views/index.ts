/**
 * The views beside the machine view: each file imported here registers itself (registry.ts).
 * Add one import a view.
 */
import './lab.js';
import './cpus.js';

export { registeredViews } from './registry.js';
