/**
 * The real `adaptivecards` renderer (3.0.6) under Node, to check every card the bot sends the way a
 * client would read it.
 *
 * Its `lib/` entry does not load under Node (extensionless ESM imports), so this loads the UMD
 * bundle `dist/adaptivecards.js` through `require`, after copying a jsdom window's properties onto
 * the global object (the bundle reads `window`, `document` and DOM classes at load and render time).
 * The globals stay for the rest of the test file's worker: they are only ever added, never replaced.
 */
import { createRequire } from 'node:module';
import { JSDOM } from 'jsdom';

/** The part of the renderer's API these checks use (its own typings need the DOM lib). */
interface ParseEvent {
  phase: number;
  source: unknown;
  event: number;
  message: string;
}

interface SerializationContext {
  targetVersion: unknown;
  readonly eventCount: number;
  getEventAt(index: number): ParseEvent;
}

interface ValidationResults {
  validationEvents: ParseEvent[];
}

export interface RenderedElement {
  outerHTML: string;
  value?: string;
  checked?: boolean;
  type?: string;
  tagName: string;
  click(): void;
  dispatchEvent(event: unknown): boolean;
  querySelectorAll(selector: string): ArrayLike<RenderedElement>;
  getAttribute(name: string): string | null;
  textContent: string | null;
}

interface ExecutedAction {
  title?: string;
  data?: unknown;
}

interface AdaptiveCardInstance {
  onExecuteAction?: (action: ExecutedAction) => void;
  parse(json: unknown, context?: SerializationContext): void;
  validateProperties(): ValidationResults;
  render(): RenderedElement | undefined;
}

interface AdaptiveCardsModule {
  AdaptiveCard: (new () => AdaptiveCardInstance) & {
    onProcessMarkdown?: (text: string, result: { didProcess: boolean; outputHtml?: unknown }) => void;
  };
  SerializationContext: new () => SerializationContext;
  Versions: { v1_3: unknown };
  ValidationEvent: Record<number, string>;
}

let loaded: AdaptiveCardsModule | undefined;

function installDomGlobals(): void {
  const { window } = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true });
  // jsdom has no `innerText`, which the renderer uses for every label and button title; without
  // it the HTML would carry no text at all. textContent is what innerText amounts to here.
  const proto = window.HTMLElement.prototype;
  if (!('innerText' in proto)) {
    Object.defineProperty(proto, 'innerText', {
      configurable: true,
      get(this: { textContent: string | null }) {
        return this.textContent ?? '';
      },
      set(this: { textContent: string | null }, value: string) {
        this.textContent = value;
      },
    });
  }
  const target = globalThis as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(window)) {
    if (name in target) continue;
    try {
      target[name] = (window as unknown as Record<string, unknown>)[name];
    } catch {
      // Some window getters refuse to be read off the window; the renderer does not need them.
    }
  }
  target.window = window;
}

/** The renderer module, loaded once per worker. */
export function loadAdaptiveCards(): AdaptiveCardsModule {
  if (!loaded) {
    installDomGlobals();
    const require = createRequire(import.meta.url);
    loaded = require('adaptivecards/dist/adaptivecards.js') as AdaptiveCardsModule;
    // Text stays plain (as in a client without Markdown support) instead of a console warning.
    loaded.AdaptiveCard.onProcessMarkdown = (_text, result) => {
      result.didProcess = false;
    };
  }
  return loaded;
}

export interface CardCheck {
  /** Parse events at target version 1.3 (unknown elements, actions, values newer than 1.3). */
  events: string[];
  /** Property validation failures (missing ids, duplicate ids, too many actions, …). */
  failures: string[];
  /** The rendered card, or undefined when the renderer refused it. */
  element: RenderedElement | undefined;
  html: string;
}

/** Parses `content` as a 1.3 client would, validates it and renders it to HTML. */
export function checkCard(content: unknown): CardCheck {
  const ac = loadAdaptiveCards();
  const card = new ac.AdaptiveCard();
  const context = new ac.SerializationContext();
  context.targetVersion = ac.Versions.v1_3;
  card.parse(content, context);
  const events: string[] = [];
  for (let i = 0; i < context.eventCount; i++) {
    const event = context.getEventAt(i);
    events.push(`${ac.ValidationEvent[event.event] ?? event.event}: ${event.message}`);
  }
  const failures = card
    .validateProperties()
    .validationEvents.map((event) => `${ac.ValidationEvent[event.event] ?? event.event}: ${event.message}`);
  const element = card.render();
  return { events, failures, element, html: element?.outerHTML ?? '' };
}

/** What a user enters: text for text/number/select inputs, a boolean for toggles, values for multi-selects. */
export type EnteredValue = string | boolean | string[];

function fire(element: RenderedElement, type: string): void {
  const win = (globalThis as unknown as { window: { Event: new (type: string, init?: unknown) => unknown } })
    .window;
  element.dispatchEvent(new win.Event(type, { bubbles: true }));
}

/**
 * Renders `content`, fills inputs the way a user would (by input id), presses the button titled
 * `button` and returns the data the renderer hands to the host: the action's `data` merged with
 * the input values as strings, which is what Webex reports as the attachment action's `inputs`.
 * Undefined when the renderer did not execute the action (e.g. a required input left empty).
 */
export function submitCard(
  content: unknown,
  button: string,
  values: Record<string, EnteredValue> = {},
): Record<string, unknown> | undefined {
  const ac = loadAdaptiveCards();
  const card = new ac.AdaptiveCard();
  card.parse(content);
  let submitted: Record<string, unknown> | undefined;
  card.onExecuteAction = (action) => {
    submitted = JSON.parse(JSON.stringify(action.data ?? {})) as Record<string, unknown>;
  };
  const root = card.render();
  if (!root) throw new Error('the card did not render');
  for (const [id, value] of Object.entries(values)) {
    const wrapper = Array.from(root.querySelectorAll('[id]')).find((el) => el.getAttribute('id') === id);
    if (!wrapper) throw new Error(`no input with id ${id}`);
    const controls = Array.from(wrapper.querySelectorAll('input, select, textarea'));
    if (Array.isArray(value)) {
      for (const box of controls) {
        box.checked = value.includes(box.getAttribute('value') ?? '');
        fire(box, 'change');
      }
    } else if (typeof value === 'boolean') {
      const box = controls[0];
      if (!box) throw new Error(`no toggle in ${id}`);
      box.checked = value;
      fire(box, 'change');
    } else {
      const control = controls[0];
      if (!control) throw new Error(`no control in ${id}`);
      control.value = value;
      fire(control, 'input');
      fire(control, 'change');
    }
  }
  const target = Array.from(root.querySelectorAll('button')).find((b) => b.textContent?.trim() === button);
  if (!target) throw new Error(`no button titled ${button}`);
  target.click();
  return submitted;
}
