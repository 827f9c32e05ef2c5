package bucket

// SetAzurePageSize makes an az:// bucket list n blobs per page, so that
// tests cross page boundaries with few blobs.
func SetAzurePageSize(b Bucket, n int32) {
	b.(*checked).b.b.(*azureBucket).pageSize = n
}
