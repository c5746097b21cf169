import { AppError } from "../../core/app-error.ts";

/**
 * A call into the endpoint's object. If the object is being reset or moved (eviction, deploy, overload)
 * the call throws: answer 503 with Retry-After, which Vast's clients retry, instead of a bare 500.
 * The request's state is not lost: a retry with the same request_idx is the same request.
 */
export async function endpointCall<T>(endpoint: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw new AppError(503, "endpoint_unavailable", "the endpoint is restarting; retry shortly", { endpoint, error: String(e) }, { "Retry-After": "1" });
  }
}
