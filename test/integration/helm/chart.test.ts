/**
 * The Helm chart without Helm (no binary here): every template is rendered for several value
 * sets by test/helpers/helm-subset.ts (exactly the template subset the chart uses), the output is
 * parsed as Kubernetes reads it (YAML 1.1, multi-document), every object is validated against its
 * Kubernetes schema (kubernetes-models; the two CRDs by hand), values.yaml and every value set
 * against values.schema.json (ajv), and the product rules are asserted on the rendered objects:
 * one pod with Recreate, or with MongoDB and several replicas a StatefulSet (pod name as
 * INSTANCE_ID, Parallel, rolled one pod at a time) with a PodDisruptionBudget and preferred
 * anti-affinity; the optional NetworkPolicy; probes, a locked-down security context, a grace period
 * longer than SHUTDOWN_GRACE_S, every configuration variable of the bot reaching the container with
 * the bot's default (the pod's environment is rebuilt as Kubernetes would and loaded with the bot's
 * own `loadConfig`), secrets only in the Secret. When a `helm` binary is present the chart is also
 * linted and rendered with it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig, settings } from '../../../src/config.js';
import { instanceIdentity } from '../../../src/instance.js';
import {
  mergeValues,
  type RenderedChart,
  renderChart,
  TemplateFailError,
  TemplateSet,
} from '../../helpers/helm-subset.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const chartDir = join(repoRoot, 'charts/caipe-webex-bot');

type Dict = Record<string, unknown>;
/** A rendered object, walked freely: kubernetes-models has already validated its shape. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type Loose = any;
type K8sObject = { apiVersion: string; kind: string; metadata: Loose } & Record<string, Loose>;

const read = (path: string) => readFileSync(join(chartDir, path), 'utf8');
const yaml11 = (text: string) => parse(text, { version: '1.1' }) as Dict;
const chart = yaml11(read('Chart.yaml'));
const values = yaml11(read('values.yaml'));
const schema = JSON.parse(read('values.schema.json')) as Dict;
const templateFiles = readdirSync(join(chartDir, 'templates')).sort();
const allTemplates = templateFiles.map((f) => read(`templates/${f}`)).join('\n');
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

const envValues = values.env as Record<string, string>;
const secretValuesMap = (values.secrets as { values: Record<string, string> }).values;
const specs = Object.values(settings) as Array<{ env: string; default?: string; secret?: boolean }>;
const secretNames = specs.filter((s) => s.secret).map((s) => s.env);
/** Set by the workload from other values (or the pod's name), not through the ConfigMap. */
const CHART_MANAGED: Record<string, string> = {
  HTTP_PORT: 'httpPort',
  DATA_DIR: 'persistence.mountPath',
  INSTANCE_ID: 'the pod name, with several replicas',
};
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const imageDataDir = /DATA_DIR=(\S+)/.exec(dockerfile)?.[1];

const ajv = new Ajv({ allErrors: true, strict: true });
const validateValues = ajv.compile(schema);
function schemaErrors(candidate: unknown): string[] {
  return validateValues(candidate)
    ? []
    : (validateValues.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

// ── Value sets ────────────────────────────────────────────────────────────────────────────────

const TOKEN = 'bot-token-not-a-real-one-0123456789';
const SECRETS = {
  WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN,
  WEBEX_INTEGRATION_AUTH_CLIENT_SECRET: 'client-secret-value-42',
  LANGFUSE_SECRET_KEY: 'sk-lf-secret-value-43',
  MONGODB_URI: 'mongodb://user:mongo-password-44@mongo:27017',
  ADMIN_API_TOKEN: 'admin-token-value-0123456789abcdef',
  KEYCLOAK_WEBEX_BOT_CLIENT_SECRET: 'kc-exchange-secret-45',
  KEYCLOAK_WEBEX_BOT_ADMIN_CLIENT_SECRET: 'kc-admin-secret-46',
  WEBEX_LINK_HMAC_SECRET: 'link-hmac-secret-47',
};

interface ValueSet {
  name: string;
  values: Dict;
  release?: string;
  /** What an operator's own Secret holds, for rebuilding the pod's environment. */
  existingSecretData?: Record<string, string>;
}

const valueSets: ValueSet[] = [
  { name: 'defaults', values: {} },
  {
    name: 'existing secret (the README command)',
    values: { secrets: { existingSecret: 'webex-bot' } },
    existingSecretData: { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN },
  },
  { name: 'chart-created secret', values: { secrets: { create: true, values: SECRETS } } },
  {
    name: 'ExternalSecret',
    values: {
      externalSecret: {
        enabled: true,
        secretStoreRef: { kind: 'SecretStore', name: 'vault' },
        data: [
          {
            secretKey: 'WEBEX_INTEGRATION_BOT_ACCESS_TOKEN',
            remoteRef: { key: 'caipe/webex-bot', property: 'token' },
          },
        ],
      },
    },
    existingSecretData: { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN },
  },
  {
    name: 'ServiceMonitor',
    values: {
      secrets: { existingSecret: 'webex-bot' },
      serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } },
    },
    existingSecretData: { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN },
  },
  {
    name: 'MongoDB (URI in the Secret, no volume claim)',
    values: {
      secrets: {
        create: true,
        values: { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN, MONGODB_URI: SECRETS.MONGODB_URI },
      },
      persistence: { enabled: false },
    },
  },
  {
    name: 'embedded store on an existing claim',
    values: { secrets: { existingSecret: 'webex-bot' }, persistence: { existingClaim: 'bot-data' } },
    existingSecretData: { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN },
  },
  {
    name: 'persistence off (emptyDir)',
    values: { secrets: { existingSecret: 'webex-bot' }, persistence: { enabled: false } },
    existingSecretData: { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN },
  },
  {
    name: 'custom env and pod settings',
    release: 'caipe-webex-bot',
    values: {
      secrets: { existingSecret: 'webex-bot' },
      image: { tag: '9.9.9', pullPolicy: 'Always' },
      httpPort: 9090,
      service: { port: 9090, annotations: { 'prometheus.io/scrape': 'true' } },
      terminationGracePeriodSeconds: 90,
      env: {
        SHUTDOWN_GRACE_S: '60',
        LOG_LEVEL: 'debug',
        WEBEX_LISTEN_MODE: 'all',
        XSTATE_INSPECT: 'stately',
        XSTATE_INSPECT_PORT: '',
        CAIPE_UI_BASE_URL: 'https://caipe.example.com',
      },
      extraEnv: [
        { name: 'NODE_OPTIONS', value: '--max-old-space-size=384' },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ],
      persistence: {
        mountPath: '/var/lib/bot',
        storageClass: 'fast',
        size: '2Gi',
        annotations: { team: 'chatops' },
      },
      podAnnotations: { 'example.com/owner': 'chatops' },
      podLabels: { team: 'chatops' },
      imagePullSecrets: [{ name: 'ghcr' }],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'bots', effect: 'NoSchedule' }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['bots'] }] }],
          },
        },
      },
      serviceAccount: { create: false, name: 'bots' },
    },
    existingSecretData: { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN },
  },
  {
    name: 'replicas: three pods on MongoDB (URI in the chart-made Secret)',
    values: {
      replicaCount: 3,
      secrets: {
        create: true,
        values: { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN, MONGODB_URI: SECRETS.MONGODB_URI },
      },
    },
  },
  {
    name: 'replicas: MongoDB from an existing Secret, NetworkPolicy, pinned image',
    values: {
      replicaCount: 2,
      store: 'mongodb',
      secrets: { existingSecret: 'webex-bot' },
      image: { digest: DIGEST },
      podDisruptionBudget: { maxUnavailable: 1 },
      networkPolicy: {
        enabled: true,
        ingressFrom: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
        ],
        egress: [
          {
            ports: [
              { port: 53, protocol: 'UDP' },
              { port: 53, protocol: 'TCP' },
            ],
          },
          { ports: [{ port: 443, protocol: 'TCP' }] },
          { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 27017, protocol: 'TCP' }] },
        ],
      },
    },
    existingSecretData: { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN, MONGODB_URI: SECRETS.MONGODB_URI },
  },
  {
    name: 'one pod with the NetworkPolicy (ingress only)',
    values: { secrets: { existingSecret: 'webex-bot' }, networkPolicy: { enabled: true } },
    existingSecretData: { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN },
  },
];

// ── Rendering, parsing and validating ─────────────────────────────────────────────────────────

interface Rendered extends RenderedChart {
  objects: K8sObject[];
  byKind: (kind: string) => K8sObject[];
  one: (kind: string) => K8sObject;
}

function render(set: Pick<ValueSet, 'values' | 'release'>): Rendered {
  const out = renderChart(chartDir, {
    values: set.values,
    release: { Name: set.release ?? 'webex-bot', Namespace: 'chatops' },
  });
  const objects: K8sObject[] = [];
  for (const [file, text] of Object.entries(out.manifests)) {
    for (const doc of parseAllDocuments(text, { version: '1.1' })) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const object = doc.toJS() as K8sObject | null;
      if (object !== null) objects.push(object);
    }
  }
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const one = (kind: string) => {
    const found = byKind(kind);
    if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
    return found[0]!;
  };
  return { ...out, objects, byKind, one };
}

// biome-ignore lint/suspicious/noExplicitAny: each model takes its own object type
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/ServiceAccount': ServiceAccount,
};

/** ExternalSecret (external-secrets.io) and ServiceMonitor (monitoring.coreos.com): their required fields. */
function validateCustomResource(object: K8sObject): void {
  if (object.kind === 'ExternalSecret') {
    expect(['external-secrets.io/v1', 'external-secrets.io/v1beta1']).toContain(object.apiVersion);
    expect(object.spec.secretStoreRef).toEqual({
      kind: expect.stringMatching(/^(Cluster)?SecretStore$/),
      name: expect.any(String),
    });
    expect(object.spec.secretStoreRef.name).not.toBe('');
    expect(object.spec.target).toMatchObject({ name: expect.any(String), creationPolicy: 'Owner' });
    expect(object.spec.refreshInterval).toMatch(/^\d+[smh]$/);
    expect(Array.isArray(object.spec.data)).toBe(true);
    for (const item of object.spec.data) {
      expect(item).toMatchObject({ secretKey: expect.any(String), remoteRef: { key: expect.any(String) } });
    }
  } else if (object.kind === 'ServiceMonitor') {
    expect(object.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(Object.keys(object.spec.selector.matchLabels).length).toBeGreaterThan(0);
    expect(object.spec.endpoints.length).toBeGreaterThan(0);
    for (const endpoint of object.spec.endpoints) {
      expect(endpoint.port).toEqual(expect.any(String));
      expect(endpoint.interval).toMatch(/^\d+[smh]$/);
      expect(endpoint.scrapeTimeout).toMatch(/^\d+[smh]$/);
    }
  } else {
    throw new Error(`no schema for ${object.apiVersion}/${object.kind}`);
  }
}

function validateObject(object: K8sObject): void {
  expect(object.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (Model) new Model(object).validate();
  else validateCustomResource(object);
}

/** The Deployment (one pod) or the StatefulSet (several), whichever the values chose. */
function workloadOf(rendered: Rendered): K8sObject {
  const workloads = [...rendered.byKind('Deployment'), ...rendered.byKind('StatefulSet')];
  if (workloads.length !== 1) throw new Error(`expected one workload, found ${workloads.length}`);
  return workloads[0]!;
}

/**
 * The container's environment as Kubernetes builds it: envFrom in order (later wins), then env,
 * with the downward API's `metadata.name` as `podName`.
 */
function podEnvironment(
  rendered: Rendered,
  existingSecretData: Record<string, string> = {},
  podName = `${workloadOf(rendered).metadata.name}-0`,
): Record<string, string> {
  const container = workloadOf(rendered).spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const source of container.envFrom) {
    if (source.configMapRef) {
      const map = rendered.byKind('ConfigMap').find((c) => c.metadata.name === source.configMapRef.name);
      if (!map) throw new Error(`ConfigMap ${source.configMapRef.name} not rendered`);
      Object.assign(env, map.data);
    } else if (source.secretRef) {
      const secret = rendered.byKind('Secret').find((s) => s.metadata.name === source.secretRef.name);
      Object.assign(env, secret ? secret.stringData : existingSecretData);
    }
  }
  for (const entry of container.env) {
    if (typeof entry.value === 'string') env[entry.name] = entry.value;
    else if (entry.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[entry.name] = podName;
  }
  return env;
}

const renderedSets = valueSets.map((set) => ({ set, rendered: render(set) }));
const byName = (name: string) => {
  const found = renderedSets.find((r) => r.set.name === name);
  if (!found) throw new Error(`no value set ${name}`);
  return found.rendered;
};
const defaults = byName('defaults');
const containerOf = (r: Rendered) => workloadOf(r).spec.template.spec.containers[0];
const podSpecOf = (r: Rendered) => workloadOf(r).spec.template.spec;
const replicated = (r: Rendered) => r.byKind('StatefulSet').length > 0;
/** The Service for /metrics and the admin API (with replicas there is also a headless one). */
const mainServiceOf = (r: Rendered) =>
  r.byKind('Service').find((s) => s.metadata.name === workloadOf(r).metadata.name)!;

// ── Tests ─────────────────────────────────────────────────────────────────────────────────────

describe('chart files', () => {
  it('Chart.yaml is a v2 application chart whose appVersion is the package version', () => {
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'caipe-webex-bot', type: 'application' });
    // Plain semver: the helm.sh/chart label uses it as is (no "+" to replace).
    expect(String(chart.version)).toMatch(/^\d+\.\d+\.\d+$/);
    expect(chart.appVersion).toBe(packageJson.version);
  });

  // Reversed on purpose: with several replicas there is a PodDisruptionBudget now.
  it('has the templates an operator expects, NOTES.txt and a README', () => {
    for (const file of [
      '_helpers.tpl',
      'configmap.yaml',
      'deployment.yaml',
      'statefulset.yaml',
      'service-pods.yaml',
      'pdb.yaml',
      'networkpolicy.yaml',
      'service.yaml',
      'servicemonitor.yaml',
      'secret.yaml',
      'externalsecret.yaml',
      'pvc.yaml',
      'serviceaccount.yaml',
      'NOTES.txt',
    ]) {
      expect(templateFiles).toContain(file);
    }
    expect(existsSync(join(chartDir, 'README.md'))).toBe(true);
  });

  it('the renderer implements exactly the functions the templates call', () => {
    const used = new Set<string>();
    for (const match of allTemplates.matchAll(/\{\{-?\s*([\s\S]*?)\s*-?\}\}/g)) {
      const action = match[1] ?? '';
      if (action.startsWith('/*')) continue;
      const code = action.replace(/"(?:[^"\\]|\\.)*"/g, '""');
      for (const word of code.matchAll(/(?<![.$\w])([a-z][A-Za-z0-9]*)\b/g)) used.add(word[1] ?? '');
    }
    for (const keyword of ['if', 'else', 'end', 'range', 'define', 'true', 'false']) used.delete(keyword);
    expect([...used].sort()).toEqual(TemplateSet.functionNames);
  });

  it('every .Values reference exists in values.yaml, and every values key is used', () => {
    const at = (path: string) =>
      path.split('.').reduce<unknown>((node, key) => (node as Dict | undefined)?.[key], values);
    const references = [...allTemplates.matchAll(/\.Values((?:\.[A-Za-z_]\w*)+)/g)].map((m) =>
      (m[1] ?? '').slice(1),
    );
    expect(references.length).toBeGreaterThan(30);
    expect(references.filter((path) => at(path) === undefined)).toEqual([]);
    const topLevel = new Set(references.map((path) => path.split('.')[0]));
    expect(Object.keys(values).filter((key) => !topLevel.has(key))).toEqual([]);
  });
});

describe('values and schema (ajv)', () => {
  it('values.yaml and every value set (merged as Helm merges them) satisfy values.schema.json', () => {
    expect(schemaErrors(values)).toEqual([]);
    for (const { set, rendered } of renderedSets) expect(schemaErrors(rendered.values), set.name).toEqual([]);
  });

  it('refuses a rolling update of one pod, unknown stores, unpinned digests, unknown or secret settings in env, wrong types', () => {
    const variants: Array<[string, Dict]> = [
      ['/replicaCount', { replicaCount: -1 }],
      ['/store', { store: 'sqlite' }],
      ['/image/digest', { image: { digest: 'latest' } }],
      ['/podDisruptionBudget/maxUnavailable', { podDisruptionBudget: { maxUnavailable: 0 } }],
      ['/networkPolicy', { networkPolicy: { enabled: true, allowAll: true } }],
      ['/env', { env: { INSTANCE_ID: 'pod-0' } }],
      ['/strategy/type', { strategy: { type: 'RollingUpdate' } }],
      ['/env', { env: { WEBEX_BOT_TOKEN: 'x' } }],
      ['/env', { env: { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: 'x' } }],
      ['/env', { env: { MONGODB_URI: 'mongodb://x' } }],
      ['/env/WEBEX_LISTEN_MODE', { env: { WEBEX_LISTEN_MODE: 'everything' } }],
      ['/env/SHUTDOWN_GRACE_S', { env: { SHUTDOWN_GRACE_S: 20 } }],
      ['/persistence/mountPath', { persistence: { mountPath: 'data' } }],
      ['/secrets/values', { secrets: { values: { WEBEX_TOKEN: 'x' } } }],
      ['/externalSecret/data/0', { externalSecret: { data: [{ secretKey: 'X' }] } }],
      ['/httpPort', { httpPort: '8080' }],
      ['/', { replicas: 1 }],
    ];
    for (const [path, override] of variants) {
      const errors = schemaErrors(mergeValues(values, override));
      expect(
        errors.some((e) => e.startsWith(`${path} `)),
        `${path}: ${errors.join(', ')}`,
      ).toBe(true);
    }
  });

  it('commits no secret value', () => {
    expect(Object.values(secretValuesMap).every((v) => v === '')).toBe(true);
    expect(values.secrets).toMatchObject({ create: false, existingSecret: '' });
  });

  it('values.env holds only variables the bot reads, as strings, with the bot defaults', () => {
    const known = new Set(specs.map((s) => s.env));
    expect(Object.keys(envValues).filter((k) => !known.has(k))).toEqual([]);
    expect(Object.values(envValues).every((v) => typeof v === 'string')).toBe(true);
    expect(Object.keys(secretValuesMap).sort()).toEqual([...secretNames].sort());
  });
});

describe.each(renderedSets.map((r) => [r.set.name, r] as const))(
  'rendered: %s',
  (_name, { set, rendered }) => {
    it('parses as YAML 1.1 and every object passes its Kubernetes schema', () => {
      expect(rendered.objects.length).toBeGreaterThanOrEqual(4);
      for (const object of rendered.objects) validateObject(object);
      const names = rendered.objects.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(new Set(names).size).toBe(names.length);
    });

    it('one pod: a Deployment with Recreate; several: a StatefulSet rolled one at a time, with a budget', () => {
      const workload = workloadOf(rendered);
      expect(rendered.byKind('HorizontalPodAutoscaler')).toEqual([]);
      if (!replicated(rendered)) {
        expect(workload.kind).toBe('Deployment');
        expect(workload.spec.replicas).toBe(1);
        expect(workload.spec.strategy).toEqual({ type: 'Recreate' });
        expect(rendered.byKind('PodDisruptionBudget')).toEqual([]);
        expect(containerOf(rendered).env.map((e: Dict) => e.name)).not.toContain('INSTANCE_ID');
        return;
      }
      expect(workload.spec.replicas).toBeGreaterThanOrEqual(2);
      expect(workload.spec.podManagementPolicy).toBe('Parallel');
      expect(workload.spec.updateStrategy).toEqual({
        type: 'RollingUpdate',
        rollingUpdate: { partition: 0 },
      });
      expect(rendered.one('PodDisruptionBudget').spec.maxUnavailable).toBe(1);
      // Each pod its own device: INSTANCE_ID is the pod's stable name.
      expect(containerOf(rendered).env).toContainEqual({
        name: 'INSTANCE_ID',
        valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
      });
      // The state is in MongoDB: no claim to share, an emptyDir per pod.
      expect(rendered.byKind('PersistentVolumeClaim')).toEqual([]);
      expect(podSpecOf(rendered).volumes.find((v: Dict) => v.name === 'data')).toEqual({
        name: 'data',
        emptyDir: {},
      });
    });

    it('probes /healthz and /readyz on the container port the bot listens on', () => {
      const container = containerOf(rendered);
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
      const http = container.ports.find((p: Dict) => p.name === 'http');
      expect(String(http.containerPort)).toBe(podEnvironment(rendered, set.existingSecretData).HTTP_PORT);
      expect(container.resources.limits.memory).toBeTruthy();
      expect(container.resources.requests.cpu).toBeTruthy();
    });

    it('a locked-down pod: non-root, no privilege escalation, no capabilities, seccomp, read-only root', () => {
      const pod = podSpecOf(rendered);
      const container = containerOf(rendered);
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(pod.automountServiceAccountToken).toBe(false);
      // The only writable paths: DATA_DIR and /tmp.
      const env = podEnvironment(rendered, set.existingSecretData);
      expect(container.volumeMounts.map((m: Dict) => m.mountPath).sort()).toEqual(
        [env.DATA_DIR, '/tmp'].sort(),
      );
    });

    it('a grace period longer than SHUTDOWN_GRACE_S', () => {
      const env = podEnvironment(rendered, set.existingSecretData);
      expect(podSpecOf(rendered).terminationGracePeriodSeconds).toBeGreaterThan(Number(env.SHUTDOWN_GRACE_S));
    });

    it('the objects refer to each other by the right names and labels', () => {
      const workload = workloadOf(rendered);
      const podLabels = workload.spec.template.metadata.labels;
      expect(podLabels).toMatchObject(workload.spec.selector.matchLabels);
      const service = mainServiceOf(rendered);
      expect(podLabels).toMatchObject(service.spec.selector);
      expect(service.spec.ports).toEqual([
        { name: 'http', port: expect.any(Number), targetPort: 'http', protocol: 'TCP' },
      ]);
      expect(service.spec.publishNotReadyAddresses).toBe(true);
      for (const monitor of rendered.byKind('ServiceMonitor')) {
        expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
        expect(monitor.spec.endpoints).toMatchObject([{ port: 'http', path: '/metrics' }]);
      }
      const pod = podSpecOf(rendered);
      const accounts = rendered.byKind('ServiceAccount');
      if (accounts.length > 0) expect(pod.serviceAccountName).toBe(accounts[0]!.metadata.name);
      const volume = pod.volumes.find((v: Dict) => v.name === 'data');
      for (const claim of rendered.byKind('PersistentVolumeClaim')) {
        expect(volume.persistentVolumeClaim.claimName).toBe(claim.metadata.name);
        expect(claim.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
      }
      if (replicated(rendered)) {
        const headless = rendered
          .byKind('Service')
          .find((s) => s.metadata.name === workload.spec.serviceName);
        expect(headless?.spec.clusterIP).toBe('None');
        expect(podLabels).toMatchObject(headless?.spec.selector);
      } else {
        expect(rendered.byKind('Service')).toHaveLength(1);
      }
      for (const budget of rendered.byKind('PodDisruptionBudget'))
        expect(podLabels).toMatchObject(budget.spec.selector.matchLabels);
      for (const policy of rendered.byKind('NetworkPolicy'))
        expect(podLabels).toMatchObject(policy.spec.podSelector.matchLabels);
      const secretRef = containerOf(rendered).envFrom.find((s: Dict) => s.secretRef)?.secretRef.name;
      for (const secret of rendered.byKind('Secret')) expect(secretRef).toBe(secret.metadata.name);
      for (const external of rendered.byKind('ExternalSecret'))
        expect(secretRef).toBe(external.spec.target.name);
    });

    it('the pod environment loads with the bot configuration loader', () => {
      const env = podEnvironment(rendered, set.existingSecretData);
      if (env.WEBEX_INTEGRATION_BOT_ACCESS_TOKEN) expect(() => loadConfig(env)).not.toThrow();
      else expect(() => loadConfig(env)).toThrow(/WEBEX_INTEGRATION_BOT_ACCESS_TOKEN/);
    });

    it('no secret value outside the Secret', () => {
      const secretText = rendered.manifests['secret.yaml'] ?? '';
      for (const value of Object.values(SECRETS)) {
        for (const [file, text] of Object.entries(rendered.manifests)) {
          if (text !== secretText) expect(text, file).not.toContain(value);
        }
        expect(rendered.notes).not.toContain(value);
      }
      for (const map of rendered.byKind('ConfigMap')) {
        expect(Object.keys(map.data).filter((k) => secretNames.includes(k))).toEqual([]);
      }
    });
  },
);

describe('every configuration variable reaches the container', () => {
  const created = byName('chart-created secret');
  const env = podEnvironment(created);
  const configMap = created.one('ConfigMap').data as Record<string, string>;
  const secret = created.one('Secret').stringData as Record<string, string>;

  it.each(specs.map((s) => [s.env, s] as const))('%s', (name, spec) => {
    if (spec.secret) {
      expect(secret).toHaveProperty([name]);
      expect(configMap).not.toHaveProperty([name]);
    } else if (CHART_MANAGED[name]) {
      expect(configMap).not.toHaveProperty([name]);
      // The image's DATA_DIR, not the bot's "./data" development default.
      expect(env[name]).toBe(name === 'DATA_DIR' ? imageDataDir : spec.default);
    } else {
      // The bot's default, so an untouched values file behaves like the bot with no environment.
      expect(configMap).toHaveProperty([name], spec.default ?? '');
    }
  });

  it('with the defaults, the bot sees the same configuration as with no environment at all', () => {
    const fromChart = loadConfig(env);
    const bare = loadConfig({ ...SECRETS, DATA_DIR: imageDataDir });
    expect(fromChart).toEqual(bare);
  });

  it('a Secret key wins over the ConfigMap: the Secret is loaded last', () => {
    const sources = containerOf(created).envFrom.map((s: Dict) => Object.keys(s)[0]);
    expect(sources).toEqual(['configMapRef', 'secretRef']);
  });

  it('without any Secret there is no secretRef, and NOTES.txt warns', () => {
    expect(containerOf(defaults).envFrom).toHaveLength(1);
    expect(defaults.notes).toMatch(/WARNING: no Secret is configured/);
    expect(created.notes).not.toMatch(/WARNING/);
  });
});

describe('value sets change what they should', () => {
  it('existing secret: referenced by name, no Secret or ExternalSecret created', () => {
    const r = byName('existing secret (the README command)');
    expect(containerOf(r).envFrom[1]).toEqual({ secretRef: { name: 'webex-bot' } });
    expect(r.byKind('Secret')).toEqual([]);
    expect(r.byKind('ExternalSecret')).toEqual([]);
  });

  it('chart-created secret: only the keys with a value, a checksum that follows them', () => {
    const r = byName('chart-created secret');
    expect(r.one('Secret').stringData).toEqual(SECRETS);
    const mongo = byName('MongoDB (URI in the Secret, no volume claim)');
    expect(Object.keys(mongo.one('Secret').stringData).sort()).toEqual([
      'MONGODB_URI',
      'WEBEX_INTEGRATION_BOT_ACCESS_TOKEN',
    ]);
    const checksum = (x: Rendered) => workloadOf(x).spec.template.metadata.annotations['checksum/secret'];
    expect(checksum(r)).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(r)).not.toBe(checksum(mongo));
  });

  it('ExternalSecret: writes <fullname>-secrets, which the pod loads', () => {
    const r = byName('ExternalSecret');
    const external = r.one('ExternalSecret');
    expect(external.spec.target.name).toBe('webex-bot-caipe-webex-bot-secrets');
    expect(external.spec.secretStoreRef).toEqual({ kind: 'SecretStore', name: 'vault' });
    expect(r.byKind('Secret')).toEqual([]);
  });

  it('ServiceMonitor only when enabled, with its extra labels', () => {
    expect(defaults.byKind('ServiceMonitor')).toEqual([]);
    const monitor = byName('ServiceMonitor').one('ServiceMonitor');
    expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
  });

  it('embedded store: a claim by default, the existing claim when given, an emptyDir when off', () => {
    const dataVolume = (r: Rendered) => podSpecOf(r).volumes.find((v: Dict) => v.name === 'data');
    expect(defaults.one('PersistentVolumeClaim').spec).toMatchObject({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
    });
    expect(dataVolume(defaults)).toEqual({
      name: 'data',
      persistentVolumeClaim: { claimName: 'webex-bot-caipe-webex-bot-data' },
    });
    const existing = byName('embedded store on an existing claim');
    expect(existing.byKind('PersistentVolumeClaim')).toEqual([]);
    expect(dataVolume(existing).persistentVolumeClaim.claimName).toBe('bot-data');
    for (const name of ['persistence off (emptyDir)', 'MongoDB (URI in the Secret, no volume claim)']) {
      const r = byName(name);
      expect(r.byKind('PersistentVolumeClaim'), name).toEqual([]);
      expect(dataVolume(r), name).toEqual({ name: 'data', emptyDir: {} });
      expect(r.notes).toMatch(/DATA_DIR is an emptyDir/);
    }
    expect(podEnvironment(byName('MongoDB (URI in the Secret, no volume claim)')).MONGODB_URI).toBe(
      SECRETS.MONGODB_URI,
    );
  });

  it('custom env and pod settings land where they belong', () => {
    const r = byName('custom env and pod settings');
    const deployment = r.one('Deployment');
    // A release named like the chart is not repeated in the names.
    expect(deployment.metadata.name).toBe('caipe-webex-bot');
    const container = containerOf(r);
    const env = podEnvironment(r, { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN });
    expect(env).toMatchObject({
      SHUTDOWN_GRACE_S: '60',
      LOG_LEVEL: 'debug',
      WEBEX_LISTEN_MODE: 'all',
      XSTATE_INSPECT: 'stately',
      HTTP_PORT: '9090',
      DATA_DIR: '/var/lib/bot',
      CAIPE_UI_BASE_URL: 'https://caipe.example.com',
      // Untouched keys keep their defaults (values are merged, not replaced).
      CAIPE_URL: settings.caipeUrl.default,
    });
    expect(container.image).toBe('ghcr.io/cnoe-io/caipe-webex-bot:9.9.9');
    expect(container.imagePullPolicy).toBe('Always');
    // The Stately relay port: the bot's default when the value is empty.
    expect(container.ports).toContainEqual({
      name: 'inspect',
      containerPort: Number(settings.xstateInspectPort.default),
      protocol: 'TCP',
    });
    expect(container.env.slice(2)).toEqual([
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=384' },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ]);
    const pod = podSpecOf(r);
    expect(pod.terminationGracePeriodSeconds).toBe(90);
    expect(pod.serviceAccountName).toBe('bots');
    expect(r.byKind('ServiceAccount')).toEqual([]);
    expect(pod.imagePullSecrets).toEqual([{ name: 'ghcr' }]);
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toHaveLength(1);
    expect(pod.affinity.nodeAffinity).toBeDefined();
    expect(deployment.spec.template.metadata.labels.team).toBe('chatops');
    expect(deployment.spec.template.metadata.annotations['example.com/owner']).toBe('chatops');
    expect(r.one('Service').spec.ports[0].port).toBe(9090);
    expect(r.one('Service').metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true' });
    const claim = r.one('PersistentVolumeClaim');
    expect(claim.spec.storageClassName).toBe('fast');
    expect(claim.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep', team: 'chatops' });
    // The config checksum follows the settings, so `helm upgrade` restarts the pod.
    const checksum = (x: Rendered) =>
      x.one('Deployment').spec.template.metadata.annotations['checksum/config'];
    expect(checksum(r)).not.toBe(checksum(defaults));
    expect(defaults.one('Deployment').spec.template.spec.containers[0].ports).toHaveLength(1);
  });

  it('the chart-managed values agree with the bot and the image', () => {
    expect(values.httpPort).toBe(Number(settings.httpPort.default));
    expect((values.service as Dict).port).toBe(values.httpPort);
    expect((values.persistence as Dict).mountPath).toBe(imageDataDir);
    const uid = /^USER (\d+)/m.exec(dockerfile)?.[1];
    expect(podSpecOf(defaults).securityContext.runAsUser).toBe(Number(uid));
  });
});

describe('several replicas, the NetworkPolicy, a pinned image', () => {
  const three = byName('replicas: three pods on MongoDB (URI in the chart-made Secret)');
  const pinned = byName('replicas: MongoDB from an existing Secret, NetworkPolicy, pinned image');

  it('the store follows the chart-made MONGODB_URI, or the store flag when the URI is in another Secret', () => {
    expect(three.one('StatefulSet').spec.replicas).toBe(3);
    expect(pinned.one('StatefulSet').spec.replicas).toBe(2);
    expect(podEnvironment(three).MONGODB_URI).toBe(SECRETS.MONGODB_URI);
    expect(
      podEnvironment(pinned, {
        WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: TOKEN,
        MONGODB_URI: SECRETS.MONGODB_URI,
      }).MONGODB_URI,
    ).toBe(SECRETS.MONGODB_URI);
  });

  it('each pod connects with its own device, named after the pod, and claims under that name', () => {
    const env = podEnvironment(three, {}, 'webex-bot-caipe-webex-bot-2');
    const config = loadConfig(env);
    expect(config.instanceId).toBe('webex-bot-caipe-webex-bot-2');
    const identity = instanceIdentity(config, 'node-host');
    expect(identity.deviceName).toBe('caipe-webex-bot-webex-bot-caipe-webex-bot-2');
    expect(identity.owner).toBe('webex-bot-caipe-webex-bot-2');
    // One pod: no INSTANCE_ID, the device keeps the plain name, the host name owns the claims.
    const single = instanceIdentity(loadConfig(podEnvironment(byName('chart-created secret'))), 'node-host');
    expect(single).toMatchObject({ deviceName: 'caipe-webex-bot', owner: 'node-host' });
  });

  it('spreads the pods over nodes when it can (preferred anti-affinity), unless affinity is given', () => {
    const affinity = podSpecOf(three).affinity;
    expect(affinity).toEqual({
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: {
              topologyKey: 'kubernetes.io/hostname',
              labelSelector: { matchLabels: three.one('StatefulSet').spec.selector.matchLabels },
            },
          },
        ],
      },
    });
    expect(podSpecOf(defaults).affinity).toBeUndefined();
    const own = {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
    };
    const overridden = render({ values: { replicaCount: 2, store: 'mongodb', affinity: own } });
    expect(podSpecOf(overridden).affinity).toEqual(own);
  });

  it('the NetworkPolicy is off by default; on, it opens only port http, and egress only as listed', () => {
    for (const { set, rendered } of renderedSets) {
      const enabled = (set.values.networkPolicy as Dict | undefined)?.enabled === true;
      expect(rendered.byKind('NetworkPolicy'), set.name).toHaveLength(enabled ? 1 : 0);
    }
    const policy = pinned.one('NetworkPolicy');
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toEqual([
      {
        ports: [{ port: 'http', protocol: 'TCP' }],
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
      },
    ]);
    expect(policy.spec.egress).toHaveLength(3);
    const ingressOnly = byName('one pod with the NetworkPolicy (ingress only)').one('NetworkPolicy');
    expect(ingressOnly.spec.policyTypes).toEqual(['Ingress']);
    expect(ingressOnly.spec.egress).toBeUndefined();
    expect(ingressOnly.spec.ingress[0].from).toEqual([{ podSelector: {} }]);
  });

  it('image.digest pins the image and wins over the tag', () => {
    expect(containerOf(pinned).image).toBe(`ghcr.io/cnoe-io/caipe-webex-bot@${DIGEST}`);
    expect(containerOf(defaults).image).toBe(`ghcr.io/cnoe-io/caipe-webex-bot:${chart.appVersion}`);
    const both = render({ values: { image: { tag: '9.9.9', digest: DIGEST } } });
    expect(containerOf(both).image).toBe(`ghcr.io/cnoe-io/caipe-webex-bot@${DIGEST}`);
  });

  it('NOTES.txt says how to watch the rollout and what replicas do not do yet', () => {
    expect(three.notes).toContain('rollout status statefulset/webex-bot-caipe-webex-bot');
    expect(three.notes).toMatch(/Running answers are not yet taken over/);
    expect(defaults.notes).toContain('rollout status deployment/webex-bot-caipe-webex-bot');
  });
});

describe('the templates refuse to render what would break the bot', () => {
  const fails = (override: Dict) => () =>
    render({ values: mergeValues({ secrets: { existingSecret: 'webex-bot' } }, override) });

  it('two replicas on the embedded store (a file on one pod): only MongoDB is shared', () => {
    expect(fails({ replicaCount: 2 })).toThrow(TemplateFailError);
    expect(fails({ replicaCount: 2 })).toThrow(/replicaCount above 1 needs the MongoDB store/);
    expect(fails({ replicaCount: 2, store: 'embedded' })).toThrow(/needs the MongoDB store/);
    // A URI the chart would not put in the pod (another Secret wins) does not count.
    expect(fails({ replicaCount: 2, secrets: { values: { MONGODB_URI: SECRETS.MONGODB_URI } } })).toThrow(
      /needs the MongoDB store/,
    );
    expect(render({ values: { replicaCount: 0 } }).one('Deployment').spec.replicas).toBe(0);
    expect(render({ values: { replicaCount: 2, store: 'mongodb' } }).one('StatefulSet').spec.replicas).toBe(
      2,
    );
  });

  it('a grace period not longer than SHUTDOWN_GRACE_S', () => {
    expect(fails({ terminationGracePeriodSeconds: 20 })).toThrow(/SHUTDOWN_GRACE_S/);
    expect(fails({ terminationGracePeriodSeconds: 90, env: { SHUTDOWN_GRACE_S: '120' } })).toThrow(
      /SHUTDOWN_GRACE_S/,
    );
    expect(
      podSpecOf(render({ values: { terminationGracePeriodSeconds: 21 } })).terminationGracePeriodSeconds,
    ).toBe(21);
  });

  it('a chart-made Secret without the token, an ExternalSecret without a store', () => {
    expect(() => render({ values: { secrets: { create: true } } })).toThrow(
      /WEBEX_INTEGRATION_BOT_ACCESS_TOKEN is required/,
    );
    expect(() => render({ values: { externalSecret: { enabled: true } } })).toThrow(
      /secretStoreRef.name is required/,
    );
  });

  it('a value the templates do not know (a typo in a template would fail the same way)', () => {
    expect(() => render({ values: { persistence: null } })).toThrow(/missing value \.Values\.persistence/);
  });
});

// ── With the real binary, when there is one ───────────────────────────────────────────────────

const helm = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' });
const hasHelm = helm.status === 0;

describe(hasHelm ? `with helm ${helm.stdout.trim()}` : 'with helm (skipped: no helm binary on PATH)', () => {
  const template = (...args: string[]) =>
    spawnSync('helm', ['template', 'webex-bot', chartDir, ...args], { encoding: 'utf8' });

  it.skipIf(!hasHelm)('lints, and renders the same objects as the subset renderer', () => {
    execFileSync('helm', ['lint', chartDir, '--strict'], { encoding: 'utf8' });
    const plain = template('--namespace', 'chatops');
    expect(plain.status, plain.stderr).toBe(0);
    const objects = parseAllDocuments(plain.stdout, { version: '1.1' })
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
    const sortKey = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
    expect(objects.sort((a, b) => sortKey(a).localeCompare(sortKey(b)))).toEqual(
      [...defaults.objects].sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
    );
  });

  it.skipIf(!hasHelm)('refuses two replicas and a grace period shorter than SHUTDOWN_GRACE_S', () => {
    expect(template('--set', 'replicaCount=2').status).not.toBe(0);
    expect(template('--set', 'terminationGracePeriodSeconds=10').stderr).toMatch(/SHUTDOWN_GRACE_S/);
  });
});
