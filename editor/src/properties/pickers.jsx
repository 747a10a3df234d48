// Pickers for a service task's parameters whose value is one of a known set: an e-mail template, a document
// kind, recipients. They write the expressions the bundled files use ('name' for one name, ['a', 'b'] for a
// list), and keep a text box for any other expression, shown when the value is not one the picker knows.
import { SelectEntry, TextFieldEntry } from '@bpmn-io/properties-panel'
import { useService } from 'bpmn-js-properties-panel'
import { useEffect, useState } from '@bpmn-io/properties-panel/preact/hooks'

import { getParameter, setParameter } from './extensions.js'

const OTHER = '__other__'
const QUOTED = /^\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*$/
const LIST = /^\s*\[(.*)\]\s*$/

// The name in a quoted-string expression, or null for any other expression.
export function parseName (expression) {
  const match = QUOTED.exec(expression || '')
  return match ? (match[1] !== undefined ? match[1] : match[2]) : null
}

export function formatName (name) {
  return `'${name}'`
}

// The names in a list of quoted strings (['a', 'b']), or null for any other expression.
export function parseNames (expression) {
  if (!expression) return []
  const match = LIST.exec(expression)
  if (!match) return null
  if (!match[1].trim()) return []
  const names = match[1].split(',').map(parseName)
  return names.includes(null) ? null : names
}

export function formatNames (names) {
  return names.length ? `[${names.map(formatName).join(', ')}]` : ''
}

function ExpressionEntry ({ element, name, label, type }) {
  const injector = useService('injector')
  const debounce = useService('debounceInput')
  return (
    <TextFieldEntry
      element={element}
      id={`rr-param-${name}-expression`}
      label={`${label}: expression`}
      description="An expression: text needs quotes, e.g. 'information_sharing_reminder'; a list is written ['chair', 'partnership_manager']."
      debounce={debounce}
      getValue={() => getParameter(element, name)}
      setValue={value => setParameter(element, injector, name, value || '', type)}
    />
  )
}

// The text box shows for a value the picker does not know (known === false), and once the owner asks for it
// (until another element is selected).
function useOtherMode (element, known) {
  const [other, setOther] = useState(false)
  useEffect(() => setOther(false), [element])
  return [other || known === false, setOther]
}

// One name from a list: a select, with "Other (expression)" for anything else.
export function choiceParameter (name, required, choicesOf, description) {
  return function ChoiceParameter ({ element }) {
    const injector = useService('injector')
    const config = useService('config.rapidReview')
    const choices = choicesOf(config)
    const value = getParameter(element, name)
    const picked = parseName(value)
    const known = !value ? null : choices.some(c => c.value === picked)
    const [other, setOther] = useOtherMode(element, known)
    const label = `${name}${required ? '' : ' (optional)'}`
    return (
      <div data-picker={name}>
        <SelectEntry
          element={element}
          id={`rr-param-${name}`}
          label={label}
          description={description}
          getValue={() => (other ? OTHER : (known ? picked : ''))}
          setValue={chosen => {
            if (chosen === OTHER) { setOther(true); return }
            setOther(false)
            setParameter(element, injector, name, chosen ? formatName(chosen) : '')
          }}
          getOptions={() => [
            { value: '', label: required ? '(choose)' : '(none)' },
            ...choices,
            { value: OTHER, label: 'Other (expression)' }
          ]}
        />
        {other ? <ExpressionEntry element={element} name={name} label={label} type="str" /> : null}
      </div>
    )
  }
}

// Recipients: a checkbox for each name a recipient list may use, or an expression.
export function recipientsParameter (name, required) {
  return function RecipientsParameter ({ element }) {
    const injector = useService('injector')
    const config = useService('config.rapidReview')
    const value = getParameter(element, name)
    const names = parseNames(value)
    const known = names === null ? false : names.every(n => config.recipients.includes(n))
    const [other, setOther] = useOtherMode(element, known)
    const label = `${name}${required ? '' : ' (optional)'}`
    const toggle = (recipient, on) => {
      const current = (parseNames(getParameter(element, name)) || []).filter(n => n !== recipient)
      setParameter(element, injector, name, formatNames(on ? [...current, recipient] : current), 'list')
    }
    return (
      <div class="bio-properties-panel-entry" data-picker={name}>
        {other
          ? <ExpressionEntry element={element} name={name} label={label} type="list" />
          : (
            <fieldset class="app-rr-recipients">
              <legend class="bio-properties-panel-label">{label}</legend>
              {config.recipients.map(recipient => (
                <label class="app-rr-recipient" key={recipient}>
                  <input type="checkbox" id={`rr-param-${name}-${recipient}`} checked={(names || []).includes(recipient)}
                    onChange={e => toggle(recipient, e.target.checked)} />
                  {' '}{recipient}
                </label>
              ))}
            </fieldset>
            )}
        {known === false
          ? null
          : (
            <button type="button" class="bio-properties-panel-add-entry app-rr-switch" id={`rr-param-${name}-switch`}
              onClick={() => setOther(!other)}>
              {other ? 'Choose recipients from the list' : 'Write an expression instead'}
            </button>
            )}
      </div>
    )
  }
}
