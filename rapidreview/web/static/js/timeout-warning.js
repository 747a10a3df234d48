// The timeout warning (WCAG 2.2.1): a modal dialog before the idle limit ends the session, with
// "Stay signed in". It opens in time to answer (two minutes, or half a short limit), takes focus, is read out
// by its heading and text, answers to the keyboard (Escape is "Stay signed in") and gives focus back when it
// closes. The server has the last word: the dialog asks how long is left before it opens and when its
// countdown ends, because the person may have been busy in another tab.
(function () {
  var dialog = document.getElementById('timeout-warning')
  if (!dialog || typeof dialog.showModal !== 'function' || !window.fetch) return
  var data = dialog.dataset
  var warnFor = Math.min(120, Math.floor(Number(data.idleSeconds) / 2)) * 1000
  var endsAt = Date.now() + Number(data.secondsLeft) * 1000
  var form = document.querySelector('form[data-keep-on-timeout]')
  var heading = document.getElementById('timeout-warning-title')
  var announce = dialog.querySelector('[data-announce]')
  var state = 'idle'
  var cannotExtend = false // the absolute limit is near: "Stay signed in" cannot put it off
  var timer = null
  var ticker = null
  var spokenAt = null
  var returnFocus = null

  function words (ms) {
    var seconds = Math.max(0, Math.ceil(ms / 1000))
    var minutes = Math.floor(seconds / 60)
    var rest = seconds % 60
    var parts = []
    if (minutes) parts.push(minutes + (minutes === 1 ? ' minute' : ' minutes'))
    if (rest || !minutes) parts.push(rest + (rest === 1 ? ' second' : ' seconds'))
    return parts.join(' ')
  }

  function show (which) {
    state = which
    heading.textContent = which === 'ended' ? 'You have been signed out' : 'You are about to be signed out'
    dialog.querySelectorAll('[data-when]').forEach(function (el) {
      var wanted = el.getAttribute('data-when') === which
      if (el.getAttribute('data-action') === 'keep') wanted = wanted && !!form
      if (el.getAttribute('data-action') === 'sign-in') wanted = wanted && !form
      el.hidden = !wanted
    })
    var formText = dialog.querySelector('[data-when-form]')
    if (formText) formText.hidden = !form
    if (!dialog.open) {
      returnFocus = document.activeElement
      dialog.showModal()
    }
    heading.focus()
  }

  function ask (url, options) {
    return fetch(url, Object.assign({ credentials: 'same-origin', headers: { Accept: 'application/json' } }, options))
      .then(function (response) { return response.json() })
      .catch(function () { return null })
  }

  function learn (answer) {
    if (answer && answer.signed_in) endsAt = Date.now() + answer.seconds_left * 1000
    return answer
  }

  function schedule () {
    clearTimeout(timer)
    timer = setTimeout(check, Math.max(0, endsAt - Date.now() - (cannotExtend ? 0 : warnFor)))
  }

  function check () {
    ask(data.statusUrl).then(function (answer) {
      learn(answer)
      if (answer && !answer.signed_in) return signedOut()
      if (answer && cannotExtend) return answer.seconds_left > 0 ? schedule() : signedOut()
      if (answer && endsAt - Date.now() > warnFor + 5000) return schedule() // busy elsewhere: later
      warn()
    })
  }

  function warn () {
    spokenAt = null
    clearInterval(ticker)
    tick() // the text first, so it is there when the dialog takes focus and is read out
    show('warning')
    ticker = setInterval(tick, 1000)
  }

  function tick () {
    var left = endsAt - Date.now()
    dialog.querySelectorAll('[data-countdown], [data-countdown-final]').forEach(function (el) {
      el.textContent = words(left)
    })
    // Read out at the start, then each minute and at 30 and 10 seconds, never every second.
    var seconds = Math.ceil(left / 1000)
    var spoken = dialog.querySelector('[data-countdown-spoken]')
    var first = spokenAt === null
    if (first || (seconds !== spokenAt && (seconds % 60 === 0 || seconds === 30 || seconds === 10))) {
      spokenAt = seconds
      spoken.textContent = words(left)
      if (!first) announce.textContent = 'You will be signed out in ' + words(left) + '.'
    }
    if (left <= 0) {
      clearInterval(ticker)
      ask(data.statusUrl).then(function (answer) {
        learn(answer)
        if (answer && answer.signed_in && endsAt - Date.now() > 0) return endsAt - Date.now() > warnFor ? close() : warn()
        signedOut()
      })
    }
  }

  function stay () {
    ask(data.keepAliveUrl, { method: 'POST', headers: { Accept: 'application/json', 'X-CSRFToken': data.csrfToken } })
      .then(function (answer) {
        learn(answer)
        if (!answer || !answer.signed_in) return signedOut()
        if (endsAt - Date.now() <= warnFor) { // the absolute limit: it cannot be put off
          cannotExtend = true
          clearInterval(ticker)
          show('final')
          tick()
          ticker = setInterval(tick, 1000)
          return
        }
        announce.textContent = 'You are still signed in.'
        close()
      })
  }

  function close () {
    clearInterval(ticker)
    state = 'idle'
    if (dialog.open) dialog.close()
    if (returnFocus && typeof returnFocus.focus === 'function') returnFocus.focus()
    schedule()
  }

  function signedOut () {
    clearInterval(ticker)
    clearTimeout(timer)
    show('ended')
  }

  dialog.addEventListener('click', function (event) {
    var action = event.target.closest('[data-action]')
    if (!action) return
    var name = action.getAttribute('data-action')
    if (name === 'stay') stay()
    if (name === 'close') close()
    if (name === 'keep' && form) {
      // Sent as "Save and come back later": the server keeps it as the task's draft and asks to sign in.
      var save = form.querySelector('button[name="action"][value="save"]')
      if (typeof form.requestSubmit === 'function') form.requestSubmit(save || undefined)
      else form.submit()
    }
  })
  // Escape means "Stay signed in" while warning; once signed out it just closes, leaving the page as it is.
  dialog.addEventListener('cancel', function (event) {
    if (state === 'warning') {
      event.preventDefault()
      stay()
    } else if (state === 'final') {
      event.preventDefault()
      close()
    }
  })
  schedule()
})()
