namespace StarKv.SyntheticGui.Screens;

/// <summary>The small vocabulary of the suite: labels, file names, field names, icon shapes and typed words.</summary>
public static class Vocabulary
{
    public static IReadOnlyList<string> ButtonLabels { get; } =
        ["Save", "Open", "Send", "Edit", "Copy", "Delete", "Share", "Print", "Next", "Back", "Play", "Stop", "Undo", "Close", "Apply", "Cancel"];

    public static IReadOnlyList<string> TabLabels { get; } = ["Home", "Files", "Mail", "Photos", "Music", "News", "Maps", "Chat"];

    public static IReadOnlyList<string> FileNames { get; } =
        ["report.pdf", "photo.png", "notes.txt", "budget.xls", "song.mp3", "movie.mp4", "draft.doc", "data.csv", "todo.md", "logo.svg"];

    public static IReadOnlyList<string> FieldLabels { get; } = ["Search", "Email", "Name", "Password", "City", "Phone"];

    public static IReadOnlyList<string> IconShapes { get; } = ["circle", "square", "triangle", "star", "diamond", "plus"];

    public static IReadOnlyList<string> DialogLabels { get; } = ["OK", "Yes", "No", "Retry", "Later", "Allow"];

    public static IReadOnlyList<string> DialogTitles { get; } = ["Unsaved changes", "Update ready", "Delete file?", "Sign in", "New message"];

    public static IReadOnlyList<string> TypedWords { get; } =
        ["hello", "report", "london", "coffee", "invoice", "weekend", "meeting", "garden", "pizza", "travel"];
}
