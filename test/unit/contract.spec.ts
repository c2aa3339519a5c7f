/**
 * docs/contract.md is the wire contract, kept beside the code and changed with it (the steering
 * copy it was once compared with is retired). This checks that it still names every part.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const shipped = join(__dirname, '..', '..', 'docs', 'contract.md');

describe('the wire contract in docs/contract.md', () => {
  it('names the coordinator API, who may call it, the participant contract and the barrier', () => {
    const text = readFileSync(shipped, 'utf8');
    for (const heading of ['## 3. Coordinator HTTP API', '### 3.1 Who may call it', '## 4. Coordinator gRPC API', '## 5. Participant contract', '### The barrier']) {
      expect(text).toContain(heading);
    }
  });

  it('names every error status and code the API answers', () => {
    const text = readFileSync(shipped, 'utf8');
    for (const word of ['401', '403', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'BRANCH_NOT_TRIED', 'TCC_MAX_BRANCHES']) expect(text).toContain(word);
  });
});
