/**
 * Who this process is among the processes that share one bot token (SPEC "Durability and
 * replicas", `INSTANCE_ID`): the name of its own Webex device, and the name it leaves on the
 * claims it takes in a shared store.
 */
import { hostname } from 'node:os';
import { instanceDeviceName } from './adapters/webex/devices.js';
import type { Config } from './config.js';

export interface InstanceIdentity {
  /** `INSTANCE_ID`, if set. */
  instanceId: string | undefined;
  /** Recorded with each claim and in the start-up line: `INSTANCE_ID`, else the host name. */
  owner: string;
  /** This process's device: `WEBEX_DEVICE_NAME`, or `WEBEX_DEVICE_NAME-INSTANCE_ID`. */
  deviceName: string;
  /** `WEBEX_DEVICE_NAME`: the other instances' devices are named `<base>` or `<base>-<id>`. */
  deviceBaseName: string;
}

export function instanceIdentity(
  config: Pick<Config, 'instanceId' | 'webexDeviceName'>,
  host: string = hostname(),
): InstanceIdentity {
  return {
    instanceId: config.instanceId,
    owner: config.instanceId ?? host,
    deviceName: instanceDeviceName(config.webexDeviceName, config.instanceId),
    deviceBaseName: config.webexDeviceName,
  };
}
