import t from 'tap';
import { renderEffectiveConfig } from '../../src/config/effective-config.ts';
import { parseConfig } from '../../src/config/load.ts';

t.test('a match stage prints its selector as written (it failed: "Tag not resolved for Function value"), and it reads back', async (t) => {
  const selector = '{job="app", level=~"err.*"} |= "timeout"';
  const cfg = parseConfig(`sources: [{name: app, paths: [/x]}]
pipeline:
  - type: match
    selector: '${selector}'
    stages: [{ type: labels, values: { slow: "yes" } }]
sinks: [{type: stdout}]
`, '<test>', {});
  const printed = renderEffectiveConfig(cfg);
  t.match(printed, `selector: '${selector}'`);
  const again = parseConfig(printed, '<printed>', {});
  t.match(again.pipeline[0], { type: 'match', selector: { text: selector } }, 'the printed selector reads back as the same selector');
});
