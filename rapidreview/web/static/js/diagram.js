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
    caption.textContent = 'Process diagram: ' + name + ' (the list of steps below gives the same facts as text)'
    var box = document.createElement('div')
    box.className = 'app-diagram'
    // Buttons as well as the mouse wheel: people who use a keyboard or a phone can zoom and fit too.
    var tools = document.createElement('div')
    tools.className = 'govuk-button-group app-diagram__tools'
    figure.appendChild(caption)
    figure.appendChild(tools)
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
      ;[['Zoom in', function () { canvas.zoom(canvas.zoom() * 1.25) }],
        ['Zoom out', function () { canvas.zoom(canvas.zoom() / 1.25) }],
        ['Fit to the box', function () { canvas.zoom('fit-viewport') }]].forEach(function (tool) {
        var button = document.createElement('button')
        button.type = 'button'
        button.className = 'govuk-button govuk-button--secondary govuk-!-margin-bottom-2'
        button.textContent = tool[0]
        button.setAttribute('aria-label', tool[0] + ': ' + name)
        button.addEventListener('click', tool[1])
        tools.appendChild(button)
      })
      holder.setAttribute('data-rendered', 'true')
    }).catch(function (err) {
      box.textContent = 'The diagram could not be drawn: ' + err.message
    })
  })
})()
