/** The page-replacement lab (src/web/lab) as a tab of the page; it has its own traces to replay. */
import { LabView } from '../lab/lab-view.js';
import { el } from '../ui/dom.js';
import { registerView } from './registry.js';

registerView({
  id: 'lab',
  title: 'Page-replacement lab',
  mount(root) {
    const section = el('section', null);
    section.id = 'lab';
    root.append(section);
    new LabView(section);
  },
  // The lab replays traces of its own, not the machine's run: nothing to follow.
  render() {},
});
