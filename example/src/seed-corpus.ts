// Word lists for the synthetic QA seed (seed.ts). Real support vocabulary, so that full-text
// search over the seeded data has plenty of hits ("refund", "invoice", "password", "webhook"…).

export const FIRST_NAMES = [
  'Ada',
  'Ben',
  'Chloé',
  'Dmitri',
  'Esther',
  'Farid',
  'Grace',
  'Hiro',
  'Ines',
  'Jonas',
  'Kemi',
  'Lars',
  'Maya',
  'Nikhil',
  'Olga',
  'Pablo',
  'Quinn',
  'Rosa',
  'Sven',
  'Tariq',
  'Uma',
  'Viktor',
  'Wen',
  'Yara',
  'Zoë',
] as const;

export const LAST_NAMES = [
  'Adeyemi',
  'Bauer',
  'Castillo',
  'Dubois',
  'Eriksen',
  'Fischer',
  'Gómez',
  'Haddad',
  'Ivanova',
  'Jensen',
  'Kowalski',
  'Lindqvist',
  'Moreau',
  'Nakamura',
  'Okafor',
  'Petrov',
  'Quispe',
  'Rossi',
  'Schmidt',
  'Tanaka',
] as const;

/** [area, problem, detail] triples; titles and bodies are composed from them. */
export const TOPICS = [
  [
    'billing',
    'charged twice for the annual plan',
    'My credit card shows two charges for the same invoice. Please refund the duplicate payment.',
  ],
  [
    'billing',
    'invoice shows the wrong VAT number',
    'The PDF invoice lists our old VAT number and company address, so accounting rejected it.',
  ],
  [
    'billing',
    'refund still not received',
    'The refund was approved two weeks ago but nothing has arrived on the card yet.',
  ],
  [
    'billing',
    'cannot downgrade subscription',
    'The downgrade button is greyed out and the plan keeps renewing at the higher price.',
  ],
  [
    'login',
    'password reset email never arrives',
    'I requested a password reset three times; nothing in the inbox or the spam folder.',
  ],
  [
    'login',
    'two-factor codes rejected',
    'Every 2FA code from the authenticator app is rejected as expired, even right after it appears.',
  ],
  ['login', 'locked out after SSO change', 'Since our admin switched the SSO provider, nobody on the team can log in.'],
  [
    'export',
    'CSV export times out',
    'Exporting the orders report to CSV spins for minutes and then fails with a timeout.',
  ],
  [
    'export',
    'Excel export garbles accents',
    'Names with accents like José or Zoë come out as question marks in the Excel export.',
  ],
  [
    'integrations',
    'webhook deliveries failing',
    'Our webhook endpoint receives nothing since yesterday; the dashboard shows HTTP 410 errors.',
  ],
  ['integrations', 'Slack notifications duplicated', 'Every new order is posted twice to our Slack channel.'],
  [
    'integrations',
    'API rate limit too low',
    'The API returns 429 Too Many Requests during our nightly sync of the product catalog.',
  ],
  ['shipping', 'tracking number not updating', 'The parcel tracking page has shown "label created" for six days.'],
  [
    'shipping',
    'package arrived damaged',
    'The box was crushed and the glass bottle inside was broken. I would like a replacement.',
  ],
  [
    'shipping',
    'wrong delivery address',
    'The order went to my old address even though I updated my profile before checkout.',
  ],
  ['account', 'delete my account and data', 'Please delete my account and all personal data as required by GDPR.'],
  [
    'account',
    'change the account owner',
    'Our previous admin left the company; we need to transfer ownership of the workspace.',
  ],
  [
    'performance',
    'dashboard very slow to load',
    'The analytics dashboard takes over 30 seconds to load since the last release.',
  ],
  ['performance', 'search returns stale results', 'Products we deleted yesterday still appear in search results.'],
  ['mobile', 'app crashes on startup', 'The Android app crashes immediately after the splash screen on a Pixel 8.'],
  [
    'mobile',
    'push notifications stopped',
    'iPhone push notifications stopped after updating to the latest app version.',
  ],
] as const;

export const OPENERS = [
  'Hi team,',
  'Hello,',
  'Good morning,',
  'Hi support,',
  'Dear support team,',
  'Hey there,',
] as const;

export const CONTEXT = [
  'This started after the update on Monday.',
  'It happens on both Chrome and Firefox.',
  'Several colleagues see the same problem.',
  'We have a customer demo tomorrow, so this is urgent for us.',
  'I attached a screenshot of the error message.',
  'Order number is in the subject of my previous email.',
  'We are on the Business plan.',
  'Clearing the cache and cookies did not help.',
] as const;

export const CUSTOMER_REPLIES = [
  'Thanks for the quick reply. I tried that but the problem is still there.',
  'Any update on this? It is blocking our team.',
  'That worked, thank you! You can close the ticket.',
  'I have attached the logs you asked for.',
  'The error message says "request failed with status 500".',
  'It happened again this morning around 9am.',
  'Could you escalate this to engineering please?',
] as const;

export const AGENT_REPLIES = [
  'Thanks for reaching out. Could you tell us which browser and version you are using?',
  'I have escalated this to our engineering team and will update you as soon as I hear back.',
  'We found the cause: a misconfigured webhook secret. It is fixed now, please try again.',
  'I issued the refund today; it can take 5 to 10 business days to appear on your card.',
  'Could you try resetting your password with the link below and let me know if it works?',
  'This is a known issue with the CSV export for large reports. A fix ships this week.',
  'I updated the invoice with the correct VAT number; you will find it under Billing.',
  'Marking this as resolved. Reply to this message if the problem comes back.',
] as const;
