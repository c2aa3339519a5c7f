/** The admin page's document. Kept as a TypeScript string so the bundled app ships it. */
export const ADMIN_PAGE_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>TCC coordinator admin</title></head>
<body>
<h1>TCC coordinator</h1>
<p><label>Admin token <input id="token" type="password" autocomplete="off"></label> <button id="load">Load</button></p>
<table id="list"><thead><tr><th>gid</th><th>status</th><th>created</th><th>attention</th></tr></thead><tbody></tbody></table>
<script>
const $ = (id) => document.getElementById(id);
async function api(path) {
  const res = await fetch(path, { headers: { authorization: 'Bearer ' + $('token').value } });
  if (!res.ok) throw new Error(res.status + ' ' + (await res.text()));
  return res.json();
}
$('load').onclick = async () => {
  const body = $('list').tBodies[0];
  body.textContent = '';
  const page = await api('/admin/v1/transactions?limit=50');
  for (const t of page.items) {
    const row = body.insertRow();
    for (const v of [t.gid, t.status, t.createdAt, t.attentionAt || '']) row.insertCell().textContent = v;
  }
};
</script>
</body>
</html>
`;
