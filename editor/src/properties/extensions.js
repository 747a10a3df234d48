// Reading and writing this project's spiffworkflow: extension elements as undoable commands.
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil'

const MULTI = 'properties-panel.multi-command-executor'

export function findExtension (element, type) {
  const extensions = getBusinessObject(element).get('extensionElements')
  return extensions ? extensions.get('values').find(value => is(value, type)) : undefined
}

// The extension of this type, created (with extensionElements) when missing, plus the commands that add it.
function ensureExtension (element, type, bpmnFactory, commands) {
  const bo = getBusinessObject(element)
  let extensions = bo.get('extensionElements')
  if (!extensions) {
    extensions = bpmnFactory.create('bpmn:ExtensionElements', { values: [] })
    extensions.$parent = bo
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: bo, properties: { extensionElements: extensions } } })
  }
  let found = extensions.get('values').find(value => is(value, type))
  if (!found) {
    found = bpmnFactory.create(type)
    found.$parent = extensions
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: extensions, properties: { values: [...extensions.get('values'), found] } } })
  }
  return found
}

// A named item (property, metadata value, parameter) inside a list extension; empty value removes it.
function setListed (element, injector, containerType, listName, itemType, key, keyValue, value, extra = {}) {
  const bpmnFactory = injector.get('bpmnFactory')
  const commands = []
  const container = ensureExtension(element, containerType, bpmnFactory, commands)
  const items = container.get(listName)
  const existing = items.find(item => item.get(key) === keyValue)
  if (value === '' || value === undefined || value === null) {
    if (existing) commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: container, properties: { [listName]: items.filter(i => i !== existing) } } })
  } else if (existing) {
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: existing, properties: { value } } })
  } else {
    const item = bpmnFactory.create(itemType, { [key]: keyValue, value, ...extra })
    item.$parent = container
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: container, properties: { [listName]: [...items, item] } } })
  }
  if (commands.length) injector.get('commandStack').execute(MULTI, commands)
}

export function getProperty (element, name) {
  const properties = findExtension(element, 'spiffworkflow:Properties')
  const found = properties && properties.get('properties').find(p => p.get('name') === name)
  return found ? found.get('value') || '' : ''
}

export function setProperty (element, injector, name, value) {
  setListed(element, injector, 'spiffworkflow:Properties', 'properties', 'spiffworkflow:Property', 'name', name, value)
}

export function getMetadata (element, name) {
  const values = findExtension(element, 'spiffworkflow:TaskMetadataValues')
  const found = values && values.get('values').find(v => v.get('name') === name)
  return found ? found.get('value') || '' : ''
}

export function setMetadata (element, injector, name, value) {
  setListed(element, injector, 'spiffworkflow:TaskMetadataValues', 'values', 'spiffworkflow:TaskMetadataValue', 'name', name, value)
}

export function getBody (element, type) {
  const found = findExtension(element, type)
  return found ? found.get('value') || '' : ''
}

export function setBody (element, injector, type, value) {
  const commands = []
  const found = ensureExtension(element, type, injector.get('bpmnFactory'), commands)
  commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: found, properties: { value } } })
  injector.get('commandStack').execute(MULTI, commands)
}

export function getOperator (element) {
  const operator = findExtension(element, 'spiffworkflow:ServiceTaskOperator')
  return operator ? operator.get('id') || '' : ''
}

export function setOperator (element, injector, id) {
  const commands = []
  const operator = ensureExtension(element, 'spiffworkflow:ServiceTaskOperator', injector.get('bpmnFactory'), commands)
  commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: operator, properties: { id } } })
  injector.get('commandStack').execute(MULTI, commands)
}

export function getParameter (element, id) {
  const operator = findExtension(element, 'spiffworkflow:ServiceTaskOperator')
  const list = operator && operator.get('parameters')
  const found = list && list.get('parameters').find(p => p.get('id') === id)
  return found ? found.get('value') || '' : ''
}

// A new parameter gets ``type`` (str, list, bool) as the bundled files write it; the value is an expression.
export function setParameter (element, injector, id, value, type = 'str') {
  const bpmnFactory = injector.get('bpmnFactory')
  const commands = []
  const operator = ensureExtension(element, 'spiffworkflow:ServiceTaskOperator', bpmnFactory, commands)
  let list = operator.get('parameters')
  if (!list) {
    list = bpmnFactory.create('spiffworkflow:Parameters', { parameters: [] })
    list.$parent = operator
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: operator, properties: { parameters: list } } })
  }
  const items = list.get('parameters')
  const existing = items.find(p => p.get('id') === id)
  if (!value) {
    if (existing) commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: list, properties: { parameters: items.filter(p => p !== existing) } } })
  } else if (existing) {
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: existing, properties: { value } } })
  } else {
    const item = bpmnFactory.create('spiffworkflow:Parameter', { id, type, value })
    item.$parent = list
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: list, properties: { parameters: [...items, item] } } })
  }
  if (commands.length) injector.get('commandStack').execute(MULTI, commands)
}

export function timerDefinition (element) {
  const definitions = getBusinessObject(element).get('eventDefinitions') || []
  return definitions.find(d => is(d, 'bpmn:TimerEventDefinition'))
}

export function getTimeDate (element) {
  const definition = timerDefinition(element)
  const expression = definition && definition.get('timeDate')
  return expression ? expression.get('body') || '' : ''
}

export function setTimeDate (element, injector, body) {
  const definition = timerDefinition(element)
  const modeling = injector.get('modeling')
  const expression = definition.get('timeDate')
  if (expression) {
    modeling.updateModdleProperties(element, expression, { body })
  } else {
    const created = injector.get('bpmnFactory').create('bpmn:FormalExpression', { body })
    created.$parent = definition
    modeling.updateModdleProperties(element, definition, { timeDate: created })
  }
}
