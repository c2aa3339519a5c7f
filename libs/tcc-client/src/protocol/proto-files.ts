/**
 * Where the .proto files are at run time: next to the bundle (each app's build copies them to
 * dist/apps/<app>/proto) or, when running from source (tests), in this folder.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const PROTO_PACKAGE = 'tcc.v1';

function protoRoot(): string {
  const candidates = [join(__dirname, 'proto'), join(__dirname, '..', 'proto'), join(process.cwd(), 'libs/tcc-client/src/protocol/proto')];
  const found = candidates.find((dir) => existsSync(join(dir, 'tcc/v1/coordinator.proto')));
  if (!found) throw new Error(`tcc .proto files not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Include directory and file names, as @grpc/proto-loader and Nest's gRPC transport take them. */
export function protoFiles(): { root: string; coordinator: string; participant: string } {
  const root = protoRoot();
  return { root, coordinator: join(root, 'tcc/v1/coordinator.proto'), participant: join(root, 'tcc/v1/participant.proto') };
}
