// Draws the case's process diagrams with bpmn-js and marks done, active and waiting elements.
(function () {
  var holder = document.getElementById('diagrams')
  var source = document.getElementById('diagram-data')
  if (!holder || !source || !window.BpmnJS) return
  var data = JSON.parse(source.textContent)
  holder.innerHTML = ''
  Object.keys(data.files).sort().forEach(function (name) {
    // A figure, not role="img": the viewer has pan and zoom controls, which an image may not contain.
    var figure = document.createElement('figure')
    figure.className = 'govuk-!-margin-0'
    var caption = document.createElement('figcaption')
    caption.className = 'govuk-heading-s'
    caption.textContent = 'Process diagram: ' + name + ' (the timeline below lists the same steps as text)'
    var box = document.createElement('div')
    box.className = 'app-diagram'
    figure.appendChild(caption)
    figure.appendChild(box)
    holder.appendChild(figure)
    var viewer = new window.BpmnJS({ container: box })
    viewer.importXML(data.files[name]).then(function () {
      var canvas = viewer.get('canvas')
      var registry = viewer.get('elementRegistry')
      var states = data.states[name] || {}
      Object.keys(states).forEach(function (id) {
        if (registry.get(id)) canvas.addMarker(id, 'app-' + states[id])
      })
      canvas.zoom('fit-viewport')
      holder.setAttribute('data-rendered', 'true')
    }).catch(function (err) {
      box.textContent = 'The diagram could not be drawn: ' + err.message
    })
  })
})()
