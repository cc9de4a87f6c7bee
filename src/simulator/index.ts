/**
 * The local Webex cloud (`caipe-webex-bot/simulator`): for tests and local development only. It
 * imports nothing from the bot it is used to test.
 */
export * from './webex/index.js';
