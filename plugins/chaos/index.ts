export { assertChaosAllowed, ChaosError, isProduction } from './guard.ts';
export {
  type HttpFaultScope,
  type HttpFaults,
  type HttpFaultsOptions,
  type SeenRequest,
  startHttpFaults,
} from './http-faults.ts';
export {
  type BandwidthFault,
  type Direction,
  type DownFault,
  type LatencyFault,
  startTcpProxy,
  type TcpProxy,
  type TcpProxyOptions,
  type TcpProxyStats,
} from './tcp-proxy.ts';
