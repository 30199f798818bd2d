export { table } from '../report/table.js'
