/**
 * The gRPC surface of PD and TiKV, loaded from our minimal `.proto` subsets in `./proto` (kvproto's
 * exact package, service, method and field names/numbers; only the fields we use).
 *
 * Loader options matter: 64-bit integers come back as decimal strings (never JS numbers: start
 * timestamps and cluster ids exceed 2^53), bytes as Buffers, enums as numbers, and absent
 * message fields stay absent so an empty message such as `StaleCommand {}` is still "present".
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const protoDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'proto');
const files = ['metapb.proto', 'errorpb.proto', 'kvrpcpb.proto', 'pdpb.proto', 'tikvpb.proto'];

const definition = protoLoader.loadSync(files, {
  includeDirs: [protoDir],
  keepCase: true,
  longs: String,
  bytes: Buffer,
  enums: Number,
  defaults: false,
  oneofs: false,
});

const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  pdpb: { PD: grpc.ServiceClientConstructor };
  tikvpb: { Tikv: grpc.ServiceClientConstructor };
};

/** Client constructor and service definition of `pdpb.PD`. */
export const PdService = loaded.pdpb.PD;
/** Client constructor and service definition of `tikvpb.Tikv`. */
export const TikvService = loaded.tikvpb.Tikv;

/** The same definitions as a protobufjs root, for byte-level tests and tools. */
export function protoRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(protoDir, path.basename(target));
  root.loadSync(files, { keepCase: true });
  return root;
}

/** Channel options for PD and TiKV connections (see tikv-protocol.md §6). */
export const channelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 3_000,
  'grpc.keepalive_permit_without_calls': 1,
};

/** A uint64 field as the loader gives it (decimal string), or absent, as a BigInt. */
export function u64(v: string | number | undefined | null): bigint {
  return v === undefined || v === null || v === '' ? 0n : BigInt(v);
}

/** TSO arithmetic: ts = physical_ms << 18 | logical. */
export const PHYSICAL_SHIFT = 18n;
export const composeTs = (physical: bigint, logical: bigint) => (physical << PHYSICAL_SHIFT) + logical;
export const physicalOf = (ts: bigint) => ts >> PHYSICAL_SHIFT;
/** The "latest committed" read timestamp JuiceFS uses for point reads. */
export const MAX_TS = (1n << 64n) - 1n;
