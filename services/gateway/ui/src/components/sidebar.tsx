import { Link } from '../router';
import { EXTERNAL_LINKS, navSection, PAGES } from '../routes';
import { SvgIcon } from './icons';

export function Sidebar({ path }: { path: string }) {
  const current = navSection(path);
  return (
    <nav className="sidebar" aria-label="Main">
      <ul className="nav-list">
        {PAGES.filter((page) => !page.hidden).map((page) => (
          <li key={page.path}>
            <Link
              to={page.path}
              className="nav-link"
              aria-current={current === page.path ? 'page' : undefined}
              data-testid={`nav-${page.path === '/' ? 'overview' : page.path.slice(1)}`}
            >
              <SvgIcon name={page.icon} />
              <span>{page.title}</span>
            </Link>
          </li>
        ))}
      </ul>
      <div className="nav-section">Reference</div>
      <ul className="nav-list">
        {EXTERNAL_LINKS.map((link) => (
          <li key={link.href}>
            <a className="nav-link" href={link.href} target="_blank" rel="noreferrer">
              <SvgIcon name={link.icon} />
              <span>{link.title}</span>
              <span className="nav-external">
                <SvgIcon name="external" size={12} />
              </span>
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
