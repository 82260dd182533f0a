using System.Text;

namespace StarKv.GpuWorker.Actions;

/// <summary>
/// Writes actions in the textual form UI-TARS-1.5 produces (<c>click(point='&lt;point&gt;x y&lt;/point&gt;')</c>), with
/// points mapped into the resized image's pixels, so a session's history text reads like the model's own output.
/// <see cref="UiTarsActionParser"/> reads it back.
/// </summary>
public static class UiTarsActionFormatter
{
    /// <summary>Formats one action.</summary>
    public static string Format(UiTarsAction action, CoordinateMapping mapping)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(mapping);
        return action switch
        {
            ClickAction a => $"click(point='{Point(a.At, mapping)}')",
            LeftDoubleAction a => $"left_double(point='{Point(a.At, mapping)}')",
            RightSingleAction a => $"right_single(point='{Point(a.At, mapping)}')",
            LongPressAction a => $"long_press(point='{Point(a.At, mapping)}')",
            DragAction a => $"drag(start_point='{Point(a.From, mapping)}', end_point='{Point(a.To, mapping)}')",
            HotkeyAction a => $"hotkey(key='{Escape(a.Key)}')",
            TypeAction a => $"type(content='{Escape(a.Content)}')",
            ScrollAction a => $"scroll(point='{Point(a.At, mapping)}', direction='{a.Direction.ToString().ToLowerInvariant()}')",
            WaitAction => "wait()",
            FinishedAction { Content: null } => "finished()",
            FinishedAction a => $"finished(content='{Escape(a.Content)}')",
            CallUserAction => "call_user()",
            OpenAppAction a => $"open_app(app_name='{Escape(a.AppName)}')",
            PressHomeAction => "press_home()",
            PressBackAction => "press_back()",
            _ => throw new ArgumentException($"No textual form for action type {action.GetType().Name}.", nameof(action)),
        };
    }

    /// <summary>Formats a whole response: <c>Thought: …</c> (when given) then <c>Action: …</c>, actions separated by blank lines.</summary>
    public static string FormatResponse(string? thought, IReadOnlyList<UiTarsAction> actions, CoordinateMapping mapping)
    {
        ArgumentNullException.ThrowIfNull(actions);
        if (actions.Count == 0)
        {
            throw new ArgumentException("A response needs at least one action.", nameof(actions));
        }

        var text = new StringBuilder();
        if (thought is not null)
        {
            text.Append("Thought: ").Append(thought).Append('\n');
        }

        text.Append("Action: ").AppendJoin("\n\n", actions.Select(a => Format(a, mapping)));
        return text.ToString();
    }

    private static string Point(PixelPoint point, CoordinateMapping mapping)
    {
        var (x, y) = mapping.ToResized(point);
        return $"<point>{x} {y}</point>";
    }

    /// <summary>The escapes the UI-TARS prompt asks for: <c>\\</c>, <c>\'</c>, <c>\"</c>, <c>\n</c>.</summary>
    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("'", "\\'", StringComparison.Ordinal)
            .Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal);
}
