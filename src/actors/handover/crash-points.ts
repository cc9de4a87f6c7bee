/**
 * Named points where a test may stop the bot as abruptly as `kill -9` would, to check that what
 * the next process finds in the store is enough (test/reliability/crash-points.test.ts). Only a
 * test passes a hook (the runtime's `crashPoints` option; no environment variable reaches it), and
 * with none set the effects run exactly as they would without these calls.
 */

export type CrashPoint =
  /** An activity is about to be claimed in the store. */
  | 'before-claim'
  /** The activity is claimed (and recorded as owed an answer). */
  | 'after-claim'
  /** An answer's stream is running: its task id (when the agent gave one) is recorded. */
  | 'mid-stream'
  /** An answer part, form card or feedback card is posted, and its message id not yet recorded. */
  | 'part-posted'
  /** A form card is posted and saved; the conversation waits for its answer. */
  | 'form-waiting'
  /** A form's deadline passed: the form is about to be closed and the thread told. */
  | 'form-deadline';

export interface CrashDetail {
  key?: string;
  activityId?: string;
}

/**
 * Called at each point. A test that "kills" the bot there cuts its I/O and returns a promise that
 * never settles, so the work that called it never goes on.
 */
export type CrashHook = (point: CrashPoint, detail: CrashDetail) => void | Promise<void>;
