// The HTTP API, as the dashboard reads it: JSON with one problem shape for errors, keyset pages
// followed to the end, and the officer's token (kept for the browser tab only).

const TOKEN = 'haven.token';

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN);
  },
  signIn(token) {
    sessionStorage.setItem(TOKEN, token);
  },
  signOut() {
    sessionStorage.removeItem(TOKEN);
  },
};

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function request(path, { officer = false, method = 'GET', body, headers = {}, as = 'json' } = {}) {
  const h = { Accept: as === 'json' ? 'application/json' : '*/*', ...headers };
  if (officer && session.token) h.Authorization = `Bearer ${session.token}`;
  let res;
  try {
    res = await fetch(path, { method, body, headers: h });
  } catch (e) {
    throw new ApiError(0, e.message);
  }
  if (!res.ok) {
    let detail = res.statusText;
    try {
      const p = await res.json();
      detail = p.detail ?? p.title ?? detail;
    } catch {
      // not a problem document
    }
    throw new ApiError(res.status, detail);
  }
  return as === 'blob' ? res.blob() : res.json();
}

const memo = new Map();

/** GET a JSON resource; public answers are kept for the page's life. */
export function get(path, opts = {}) {
  if (opts.officer) return request(path, opts);
  if (!memo.has(path)) {
    const p = request(path).catch((e) => {
      memo.delete(path);
      throw e;
    });
    memo.set(path, p);
  }
  return memo.get(path);
}

/** Every item of a paged resource, following `next_cursor`. */
export async function all(path, opts = {}) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(`${path}${sep}limit=1000${cursor ? `&cursor=${cursor}` : ''}`, opts);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

export function upload(dataset, file, options = {}) {
  const query = new URLSearchParams({ source: file.name });
  if (options.map) query.set('map', options.map);
  if (options.headerRow) query.set('header_row', options.headerRow);
  return request(`/api/v1/ingest/${encodeURIComponent(dataset)}?${query}`, {
    officer: true,
    method: 'POST',
    body: file,
  });
}

/** An officer's JSON request that writes (PATCH, POST): the answer's JSON. */
export function send(path, method, body) {
  return request(path, { officer: true, method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
}

/** An officer's POST answered with a file (letters as PDF): the file as a Blob. */
export function sendForFile(path, body) {
  return request(path, { officer: true, method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' }, as: 'blob' });
}

export function forget() {
  memo.clear();
}
