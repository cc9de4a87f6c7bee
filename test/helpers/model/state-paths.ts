/**
 * Reading a real machine's state tree as dotted paths, so a model test can keep an explicit table
 * from every real state to the model states it stands for, and check which one the SUT is in.
 */
import { createTestModel } from '@xstate/graph';
import type { AnyStateMachine, StateValue } from 'xstate';

interface StateNodeLike {
  key: string;
  states: Record<string, StateNodeLike>;
}

/** Every state node under the machine's root as a dotted path (`connected.online.idle`), parents first. */
export function stateNodePaths(machine: AnyStateMachine): string[] {
  const paths: string[] = [];
  const walk = (node: StateNodeLike, prefix: string) => {
    for (const [key, child] of Object.entries(node.states)) {
      const path = prefix ? `${prefix}.${key}` : key;
      paths.push(path);
      walk(child, path);
    }
  };
  walk(machine.root as unknown as StateNodeLike, '');
  return paths;
}

/** The active leaf states of a snapshot value as dotted paths. */
export function activeLeafPaths(value: StateValue, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix ? `${prefix}.${value}` : value];
  return Object.entries(value).flatMap(([key, child]) =>
    child === undefined ? [] : activeLeafPaths(child, prefix ? `${prefix}.${key}` : key),
  );
}

/**
 * Checks a real→model mapping table against both machines: every real state node is mapped, and
 * only to states the model has. Returns the problems (empty when the table is complete).
 */
export function mappingProblems(
  real: AnyStateMachine,
  model: AnyStateMachine,
  table: Readonly<Record<string, readonly string[]>>,
): string[] {
  const modelStates = new Set(stateNodePaths(model));
  const problems: string[] = [];
  for (const path of stateNodePaths(real)) {
    const mapped = table[path];
    if (!mapped || mapped.length === 0) problems.push(`real state "${path}" is not mapped to a model state`);
    for (const target of mapped ?? []) {
      if (!modelStates.has(target))
        problems.push(`real state "${path}" maps to unknown model state "${target}"`);
    }
  }
  const realStates = new Set(stateNodePaths(real));
  for (const path of Object.keys(table)) {
    if (!realStates.has(path)) problems.push(`mapping names "${path}", which the real machine no longer has`);
  }
  return problems;
}

/**
 * Every shortest and every simple path of an abstract model, labelled by kind. Model states are the
 * graph's nodes (transitions are not serialized), so "simple" means no model state twice.
 */
export function modelPaths(model: AnyStateMachine) {
  const testModel = createTestModel(model, { serializeTransition: () => '' });
  const shortest = testModel.getShortestPaths();
  const simple = testModel.getSimplePaths();
  const paths = [
    ...shortest.map((p) => ['shortest', p] as const),
    ...simple.map((p) => ['simple', p] as const),
  ];
  return { shortest, simple, paths };
}
