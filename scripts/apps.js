/** The apps of this repository and the settings that point each at its database. */
const path = require('node:path');

const root = path.resolve(__dirname, '..');

const APPS = [
  { name: 'coordinator', dbVar: 'TCC_DB_URL' },
  { name: 'account-service', dbVar: 'ACCOUNT_DB_URL' },
  { name: 'order-service', dbVar: 'ORDER_DB_URL' },
];

const entryOf = (app) => path.join(root, 'dist', 'apps', app.name, 'main.js');

module.exports = { APPS, entryOf, root };
