import type { ReactNode } from 'react';

/** A field's label; `optional` is the muted note after it (e.g. "optional"). */
export function FieldLabel(props: {
  htmlFor: string;
  className: string;
  optional?: ReactNode;
  children: ReactNode;
}) {
  return (
    <label className={props.className} htmlFor={props.htmlFor}>
      {props.children}
      {props.optional !== undefined && (
        <>
          {' '}
          <span className="optional">{props.optional}</span>
        </>
      )}
    </label>
  );
}

/** Why a field's value is refused, under the field; nothing while it is fine. */
export function FieldError({ error, testId }: { error: string | undefined; testId: string }) {
  if (!error) return null;
  return (
    <p className="field-error" data-testid={testId}>
      {error}
    </p>
  );
}

/** One field of a form in a card: label, the control (the children), then its error. */
export function FormField(props: {
  id: string;
  label: ReactNode;
  optional?: ReactNode;
  /** Spans the whole row of the form's grid. */
  wide?: boolean;
  error: string | undefined;
  errorTestId: string;
  children: ReactNode;
}) {
  return (
    <div className={props.wide ? 'form-field form-field-wide' : 'form-field'}>
      <FieldLabel htmlFor={props.id} className="label" optional={props.optional}>
        {props.label}
      </FieldLabel>
      {props.children}
      <FieldError error={props.error} testId={props.errorTestId} />
    </div>
  );
}
