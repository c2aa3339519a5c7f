/**
 * docs/contract.md is the wire contract shipped with the repository; the project's steering copy
 * (DESIGN.md in ../shared, beside a checkout) is its source. Where that copy is present, the two
 * must say the same.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const shipped = join(root, 'docs', 'contract.md');
const steering = join(root, '..', 'shared', 'DESIGN.md');

const body = (text: string): string => text.replace(/^<!--[\s\S]*?-->\s*/, '').trim();

describe('the wire contract in docs/contract.md', () => {
  it('names the coordinator API, the participant contract and the barrier', () => {
    const text = readFileSync(shipped, 'utf8');
    for (const heading of ['## 3. Coordinator HTTP API', '## 4. Coordinator gRPC API', '## 5. Participant contract', '### The barrier']) {
      expect(text).toContain(heading);
    }
  });

  (existsSync(steering) ? it : it.skip)('says what the steering copy says', () => {
    expect(body(readFileSync(shipped, 'utf8'))).toBe(body(readFileSync(steering, 'utf8')));
  });
});
