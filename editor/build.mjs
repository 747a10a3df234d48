// Builds the browser's process editor from npm packages into editor/dist/ (make setup runs it).
// bpmnlint's recommended rules are packed in here, so the editor lints with the same rules as `make lint`.
import { build } from 'esbuild'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)

// The project's .bpmnlintrc extends bpmnlint:recommended: pack those rules for the browser.
const lintConfig = {
  name: 'bpmnlint-config',
  setup (b) {
    b.onResolve({ filter: /^virtual:bpmnlint-config$/ }, () => ({ path: 'bpmnlint-config', namespace: 'lint' }))
    b.onLoad({ filter: /.*/, namespace: 'lint' }, () => {
      const rules = require('bpmnlint/config/recommended').rules
      const names = Object.keys(rules)
      const lines = names.map((name, i) => `import rule${i} from 'bpmnlint/rules/${name}'\ncache['bpmnlint/${name}'] = rule${i}`)
      return {
        resolveDir: here,
        contents: `const cache = {}
${lines.join('\n')}
export const config = { rules: ${JSON.stringify(Object.fromEntries(names.map(n => [n, rules[n]])))} }
export const resolver = {
  resolveRule (pkg, name) {
    const rule = cache[pkg + '/' + name]
    if (!rule) throw new Error('cannot resolve rule ' + pkg + '/' + name)
    return rule
  },
  resolveConfig (pkg, name) { throw new Error('cannot resolve config ' + name + ' in ' + pkg) }
}
export default { config, resolver }`
      }
    })
  }
}

// The app's Content-Security-Policy refuses inline styles (style-src 'self'). The properties panel builds two
// containers from markup with style attributes, which the browser would refuse (and report): take the
// attributes out here; editor.css gives the same rules. Each must be found, so an upgrade that changes the
// markup fails the build instead of silently breaking the layout.
const INLINE_STYLES = {
  'bpmn-js-properties-panel/dist/index.esm.js': [
    ['<div style="height: 100%" tabindex="-1" class="bio-properties-panel-container">',
      '<div tabindex="-1" class="bio-properties-panel-container">'],
    ['<div style="flex: none; height: auto" class="bio-properties-panel bio-theme-parent bio-properties-panel-header-container">',
      '<div class="bio-properties-panel bio-theme-parent bio-properties-panel-header-container">']
  ]
}

const noInlineStyles = {
  name: 'no-inline-styles',
  setup (b) {
    b.onLoad({ filter: /node_modules[\\/].*\.js$/ }, async (args) => {
      const key = Object.keys(INLINE_STYLES).find(k => args.path.replaceAll('\\', '/').endsWith('node_modules/' + k))
      if (!key) return undefined
      let contents = await readFile(args.path, 'utf8')
      for (const [from, to] of INLINE_STYLES[key]) {
        if (!contents.includes(from)) throw new Error(`${key} no longer has ${from}: update editor/build.mjs`)
        contents = contents.replaceAll(from, to)
      }
      return { contents, loader: 'js' }
    })
  }
}

await build({
  entryPoints: { editor: join(here, 'src/index.js'), compare: join(here, 'src/compare.js') },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'iife',
  target: ['es2020'],
  outdir: join(here, 'dist'),
  jsx: 'automatic',
  jsxImportSource: '@bpmn-io/properties-panel/preact',
  loader: { '.woff': 'file', '.woff2': 'file', '.eot': 'file', '.ttf': 'file', '.svg': 'file' },
  assetNames: 'assets/[name]-[hash]',
  plugins: [lintConfig, noInlineStyles],
  logLevel: 'warning'
})
