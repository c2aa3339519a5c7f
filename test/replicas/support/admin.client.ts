/** GETs from the admin API of a replica with (or without) the bearer token; status and parsed body. */
import { request } from 'undici';

export async function adminGet<T>(baseUrl: string, path: string, token?: string): Promise<{ status: number; body: T; text: string }> {
  const res = await request(`${baseUrl}${path}`, {
    method: 'GET',
    headers: token ? { authorization: `Bearer ${token}` } : {},
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await res.body.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.statusCode, body: body as T, text };
}
