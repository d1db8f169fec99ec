/**
 * The gRPC side of the etcd transport, loaded only by a long-lived process (etcd-transport.ts):
 * the protobuf messages (etcd-proto.ts) over the HTTP/2 client (grpc-client.ts).
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */
import type * as Http2 from "node:http2";
import { decodeMessage, encodeMessage, GRPC_METHODS, type GrpcMethod } from "./etcd-proto.js";
import type { GrpcLink } from "./etcd-transport.js";
import { GrpcClient, GrpcStatusError } from "./grpc-client.js";
import type { TlsFiles } from "./http-client.js";

/** The link the transport moves to: etcd's gRPC API at the same endpoints, with the same TLS files. */
export function grpcLink(http2: typeof Http2, tlsFiles: TlsFiles | undefined): GrpcLink {
  const client = new GrpcClient(http2, tlsFiles);
  return {
    methods: GRPC_METHODS,
    encode: (method: GrpcMethod, body: Record<string, unknown>) => encodeMessage(method.request, body),
    decode(method: GrpcMethod, answer: Uint8Array) {
      const value = decodeMessage(method.response, answer);
      return method.wrapped ? { result: value } : value;
    },
    unary: (url, path, message, options) => client.unary(url, path, message, options),
    isStatus: (err: unknown): err is GrpcStatusError => err instanceof GrpcStatusError,
    close: () => client.close(),
  };
}
