/**
 * The private message that takes an unlinked person to CAIPE's account link (on-behalf-of mode):
 * an Adaptive Card with one `Action.OpenUrl`, sent 1:1 (`toPersonId`) so the signed link never
 * appears in a shared space — as CAIPE's own Webex bot does. Its fallback text carries the link for
 * clients that show no cards.
 */
import { ADAPTIVE_CARD_CONTENT_TYPE, ADAPTIVE_CARD_VERSION } from '../../../render/cards.js';
import { messages } from '../../../render/messages.js';

export interface LinkNoticeMessage {
  toPersonId: string;
  markdown: string;
  attachments: Array<{ contentType: string; content: unknown }>;
}

export function linkNoticeMessage(personId: string, url: string): LinkNoticeMessage {
  return {
    toPersonId: personId,
    markdown: messages.accountLinkFallback(url),
    attachments: [
      {
        contentType: ADAPTIVE_CARD_CONTENT_TYPE,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: ADAPTIVE_CARD_VERSION,
          body: [
            {
              type: 'TextBlock',
              text: `🔗 ${messages.accountLinkTitle}`,
              wrap: true,
              weight: 'Bolder',
              size: 'Medium',
            },
            { type: 'TextBlock', text: messages.accountLinkBody, wrap: true },
          ],
          actions: [{ type: 'Action.OpenUrl', title: messages.accountLinkButton, url, style: 'positive' }],
        },
      },
    ],
  };
}
