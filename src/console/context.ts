import type { TrustedProxies } from '../request/trusted-proxies.js';
import type { OidcSignIn } from './oidc-sign-in.js';

/** How people sign in to the console: exactly one of these per configuration. */
export type SignInMode =
  | { readonly kind: 'oidc'; readonly oidc: OidcSignIn }
  | {
      /** An SSO proxy in front names the user in `header`; believed only from `trustedProxies`. */
      readonly kind: 'trusted_header';
      readonly header: string;
      readonly trustedProxies: TrustedProxies;
    };
