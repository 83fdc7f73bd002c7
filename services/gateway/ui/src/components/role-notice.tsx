import type { ReactNode } from 'react';
import { useApp } from '../context';
import { SvgIcon } from './icons';

/** Says which role the user has and what it does not allow; `children` follow "signed in as <role>". */
export function RoleNotice({ testId, children }: { testId: string; children: ReactNode }) {
  const { session } = useApp();
  return (
    <p className="callout callout-info" data-testid={testId}>
      <SvgIcon name="lock" size={14} />
      <span>
        You are signed in as <strong>{session.role}</strong>: {children}
      </span>
    </p>
  );
}

/** The notice for a viewer on a page where operators and admins can act. */
export function ReadOnlyNotice({ what }: { what: string }) {
  return (
    <RoleNotice testId="readonly-notice">
      you can see everything, but to {what} you need the <strong>operator</strong> or <strong>admin</strong>{' '}
      role.
    </RoleNotice>
  );
}
