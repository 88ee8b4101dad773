import { describe, expect, it } from 'vitest';
import { reloadAnswer } from './cluster-worker.js';
import { ReloadIncompleteError, type ReloadReport } from './reload-report.js';

const applied = (added: string[]): ReloadReport => ({
  ok: true,
  routes: { added, removed: [], changed: [] },
  restartRequired: [],
});
const refused: ReloadReport = { ok: false, errors: ['routes[0]: permission: "reed" is not a level'] };

function incomplete(fn: () => unknown): ReloadIncompleteError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ReloadIncompleteError) return error;
    throw error;
  }
  throw new Error('expected a ReloadIncompleteError');
}

describe('reloadAnswer', () => {
  it("answers the asking worker's own report when every worker applied the file", () => {
    const reports = [
      { worker: 1, report: applied(['GET /a']) },
      { worker: 2, report: applied(['GET /b']) },
    ];
    expect(reloadAnswer(reports, 2)).toEqual(applied(['GET /b']));
    expect(reloadAnswer(reports, 1)).toEqual(applied(['GET /a']));
  });

  it('answers the refusal when every worker refused the file', () => {
    expect(
      reloadAnswer(
        [
          { worker: 1, report: refused },
          { worker: 2, report: refused },
        ],
        1,
      ),
    ).toEqual(refused);
  });

  it('says each outcome when one worker applied what another refused (the file changed between reads)', () => {
    const error = incomplete(() =>
      reloadAnswer(
        [
          { worker: 1, report: applied(['GET /a']) },
          { worker: 2, report: refused },
        ],
        1,
      ),
    );
    expect(error.workers).toEqual([
      { worker: 1, outcome: 'reloaded' },
      { worker: 2, outcome: 'refused', errors: refused.ok ? [] : refused.errors },
    ]);
  });

  it('says each outcome when a worker exited or did not answer, though the others reloaded', () => {
    const error = incomplete(() =>
      reloadAnswer(
        [
          { worker: 1, report: applied([]) },
          { worker: 2, error: 'worker pid 42 exited before it answered' },
        ],
        1,
      ),
    );
    expect(error.workers).toEqual([
      { worker: 1, outcome: 'reloaded' },
      { worker: 2, outcome: 'failed', error: 'worker pid 42 exited before it answered' },
    ]);
    expect(error.message).toContain('worker 2 failed (worker pid 42 exited before it answered)');
  });

  it('is incomplete when no worker answered at all', () => {
    expect(incomplete(() => reloadAnswer([], 1)).workers).toEqual([]);
  });
});
