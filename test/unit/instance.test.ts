/** Who a process is among the bot's replicas: its device name and the owner it writes on claims. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { instanceIdentity } from '../../src/instance.js';

const base = { WEBEX_INTEGRATION_BOT_ACCESS_TOKEN: 'bot-token-for-tests-0123456789' };

describe('instanceIdentity', () => {
  it('without INSTANCE_ID: the plain device name, and the host name owns the claims', () => {
    expect(instanceIdentity(loadConfig(base), 'node-7')).toEqual({
      instanceId: undefined,
      owner: 'node-7',
      deviceName: 'caipe-webex-bot',
      deviceBaseName: 'caipe-webex-bot',
    });
  });

  it('with INSTANCE_ID: WEBEX_DEVICE_NAME-INSTANCE_ID, and the instance owns the claims', () => {
    const config = loadConfig({ ...base, INSTANCE_ID: 'bot-1', WEBEX_DEVICE_NAME: 'ops-bot' });
    expect(instanceIdentity(config, 'node-7')).toEqual({
      instanceId: 'bot-1',
      owner: 'bot-1',
      deviceName: 'ops-bot-bot-1',
      deviceBaseName: 'ops-bot',
    });
  });
});
