import { BaseEdge, type EdgeProps, getBezierPath, Handle, type NodeProps, Position } from '@xyflow/react';
import { memo } from 'react';
import type { DepFlowEdge, TaskFlowNode } from '../task-graph';
import { STATUS_TITLES } from '../task-status';

/**
 * A task in the graph. Its dependencies come in on the left; on the right is the handle to drag
 * from, in edit mode, onto a task that should wait for it. While a connection is dragged the
 * whole of every other task is a drop target.
 */
export const TaskNode = memo(function TaskNode({ data }: NodeProps<TaskFlowNode>) {
  const { task, editing, found } = data;
  return (
    <div
      className={`graph-node node-${task.status} ${editing ? 'is-editing' : ''} ${found ? 'is-found' : ''}`}
      data-testid={`graph-node-${task.id}`}
      data-status={task.status}
      title={task.statusReason ? `${task.title} — ${task.statusReason}` : task.title}
    >
      <Handle
        type="target"
        position={Position.Left}
        className="graph-handle graph-handle-in"
        isConnectableStart={false}
        data-testid={`graph-in-${task.id}`}
      />
      <span className="graph-node-title">{task.title}</span>
      <span className="graph-node-meta">
        <span className="mono graph-node-id">{task.id}</span>
        <span className={`graph-node-status text-${task.status}`}>{STATUS_TITLES[task.status]}</span>
      </span>
      <Handle
        type="source"
        position={Position.Right}
        className="graph-handle graph-handle-out"
        isConnectableEnd={false}
        title={editing ? 'Drag onto a task that should wait for this one' : undefined}
        data-testid={`graph-out-${task.id}`}
      />
    </div>
  );
});

/** A dependency: from the dependency (left) to the task waiting for it (right), arrow at the waiting end. */
export function DepEdgeView(props: EdgeProps<DepFlowEdge>) {
  const { id, source, target, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data } =
    props;
  const [path] = getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  const marked = data?.marked ?? false;
  const editing = data?.editing ?? false;
  const className = `dep-edge ${data?.satisfied ? 'is-satisfied' : ''} ${marked ? 'is-marked' : ''} ${editing ? 'is-editing' : ''}`;
  return (
    <g
      className={className}
      data-testid={`graph-edge-${source}->${target}`}
      data-source={source}
      data-target={target}
    >
      <BaseEdge
        id={id}
        path={path}
        markerEnd={`url(#${marked ? 'dep-arrow-marked' : 'dep-arrow'})`}
        interactionWidth={editing ? 26 : 12}
      />
    </g>
  );
}

/** The arrowheads edges point with; coloured by CSS variables so they follow the theme. */
export function EdgeMarkers() {
  return (
    <svg className="graph-markers" aria-hidden="true" width="0" height="0">
      <defs>
        <marker
          id="dep-arrow"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto-start-reverse"
        >
          <path d="M0 0 10 5 0 10z" className="dep-arrow" />
        </marker>
        <marker
          id="dep-arrow-marked"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto-start-reverse"
        >
          <path d="M0 0 10 5 0 10z" className="dep-arrow-marked" />
        </marker>
      </defs>
    </svg>
  );
}

export const NODE_TYPES = { task: TaskNode };
export const EDGE_TYPES = { dep: DepEdgeView };
