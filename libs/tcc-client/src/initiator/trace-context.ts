/** The current traceparent, kept where the tracing module (tracing/) can read it too. */
export { currentTraceparent, isTraceparent, withTraceparent } from '../tracing/trace-context';
