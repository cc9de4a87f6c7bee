/**
 * The simulator's only source of time: the bot's clock port (`src/clock.ts`), so one manual clock
 * drives the bot and the simulator in a test. Time is the one thing the simulator takes from the
 * product: a port with no Webex rules in it, which it cannot get wrong the way the bot might.
 */
import { type Clock, delay, systemClock } from '../../clock.js';

export type SimClock = Clock;
export { systemClock };

export function sleepOn(clock: SimClock, ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : delay(clock, ms);
}
