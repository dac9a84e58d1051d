// Validate several EPUB files in one Java process (EPUBCheck's own CLI takes one
// file per run, and each run pays seconds of JVM start-up).
// Run as: java -cp epubcheck.jar EpubCheckBatch.java BOOK.epub ...
import com.adobe.epubcheck.api.EpubCheck;
import com.adobe.epubcheck.util.DefaultReportImpl;
import java.io.File;

public class EpubCheckBatch {
    public static void main(String[] args) {
        System.setErr(System.out);
        for (String path : args) {
            System.out.println("@@BEGIN " + path);
            DefaultReportImpl report = new DefaultReportImpl(path);
            new EpubCheck(new File(path), report).doValidate();
            System.out.println("@@END " + report.getFatalErrorCount() + " "
                + report.getErrorCount() + " " + report.getWarningCount());
            System.out.flush();
        }
    }
}
