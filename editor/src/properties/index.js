import RapidReviewPropertiesProvider from './provider.jsx'

export default {
  __init__: ['rapidReviewPropertiesProvider'],
  rapidReviewPropertiesProvider: ['type', RapidReviewPropertiesProvider]
}
